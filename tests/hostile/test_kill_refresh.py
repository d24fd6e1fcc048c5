"""Crier killed (SIGKILL) after publishing but before the thread showed it, then started again.

Every delivery of an approved post is sent, but the worker is killed while Slack is still
answering its refresh of the thread: the draft's message shows an older state and the outcome
reply ("is out on …") was never posted. At the next start Crier refreshes what changed in the
last minutes, so the thread catches up: every channel shown sent, the outcome posted once.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
from sqlmodel import select

from bot.config import Settings
from bot.core import build_core
from bot.models import Delivery, DeliveryState, Post
from bot.ports import Actor
from bot.store import Store
from handlers.sandbox.workspace import SlackWorkspace
from tests.conftest import ANALYST, APPROVER, COMMS, make_config
from tests.hostile.checks import quiesce, worker_env
from tests.processes import crier_worker, wait_until
from tests.scenario.harness import as_text, start_harness

SLACK_SLOWNESS = 2.0  # seconds Slack takes to answer while the kill lands
OUTCOME = "is out on"


def sent(store: Store) -> bool:
    with store.transaction() as session:
        states = [d.state for d in session.exec(select(Delivery)).all()]
    return bool(states) and all(s == DeliveryState.SENT for s in states)


def channels(store: Store) -> int:
    with store.transaction() as session:
        return len(session.exec(select(Delivery)).all())


def thread(workspace: SlackWorkspace) -> list[dict[str, object]]:
    (root,) = workspace.messages(COMMS)
    return workspace.thread(COMMS, str(root["ts"]))


def shown_sent(workspace: SlackWorkspace) -> int:
    """How many channels the draft's message in the thread shows as sent."""
    return as_text(thread(workspace)[0].get("blocks")).count("✅ sent")


def outcome_replies(workspace: SlackWorkspace) -> int:
    return sum(OUTCOME in str(m.get("text", "")) for m in thread(workspace))


async def test_a_kill_before_the_thread_showed_a_post_is_caught_up_at_the_next_start(
    store: Store, database_url: str, workspace: SlackWorkspace, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as http:  # an outage declared: its thread and draft
        slack, runner = await start_harness(
            store=store, config=make_config(), workspace=workspace, http=http
        )
        await slack.command("Email: outlook is down", user=ANALYST)
        await workspace.wait_for("chat.postMessage", count=2)
        await quiesce(slack)
        await runner.cleanup()
    core = build_core(settings=Settings(), config=make_config(), store=store)
    with store.transaction() as session:
        post_id = session.exec(select(Post.id)).one()
    await core.approve(Actor("slack", APPROVER), post_id)  # queued here, published by the worker
    await core.close()

    env = worker_env(database_url, tmp_path / "crier.yml", workspace)
    log = tmp_path / "worker.log"
    workspace.delay("*", SLACK_SLOWNESS)
    first = crier_worker(env, log)
    try:
        await wait_until(lambda: sent(store), "every delivery sent", log)
        await asyncio.sleep(0.3)  # its refresh of the thread is on its way to Slack
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=10)
    await asyncio.sleep(SLACK_SLOWNESS + 0.3)  # what was on its way lands all the same
    assert shown_sent(workspace) < channels(store)  # the thread is behind the database
    assert outcome_replies(workspace) == 0
    workspace.delay("*", 0)

    second = crier_worker(env, log)
    try:
        await wait_until(lambda: outcome_replies(workspace) == 1, "the outcome reply", log)
        await wait_until(
            lambda: shown_sent(workspace) == channels(store), "every channel shown sent", log
        )
        await asyncio.sleep(0.5)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=10)
    assert outcome_replies(workspace) == 1  # once, however many refreshes
    assert shown_sent(workspace) == channels(store)
