"""Crier stopped (or killed) after publishing but before the thread showed it, then started.

Every delivery of an approved post is sent, but the thread still shows the draft as it was and
the outcome reply ("is out on …") was never posted. The refresh was written as a row in the
transaction that recorded each delivery (bot/scheduling/work.py), so the next start shows it: every
channel shown sent, the outcome posted once.
"""

from __future__ import annotations

import signal
from pathlib import Path

import aiohttp
from sqlmodel import col, select

from bot.core import build_core
from bot.ports import Actor
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState, Job, Post
from bot.storage.store import Store
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


async def test_a_refresh_not_yet_shown_when_crier_stopped_is_shown_at_the_next_start(
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
    # Approved and published by a process that stops before it shows the outcome in the thread
    # (as a kill right after the publishing would leave it): the refresh is a row, waiting.
    core = build_core(settings=Settings(), config=make_config(), store=store)
    with store.transaction() as session:
        post_id = session.exec(select(Post.id)).one()
    await core.approve(Actor("slack", APPROVER), post_id)
    while await core.publishing.run_once():
        pass
    await core.close()
    assert sent(store)
    with store.transaction() as session:
        waiting = session.exec(
            select(Job.kind).where(col(Job.done_at).is_(None), col(Job.kind) == "show_post")
        ).all()
    assert waiting == ["show_post"]
    assert shown_sent(workspace) < channels(store)  # the thread is behind the database
    assert outcome_replies(workspace) == 0

    env = worker_env(database_url, tmp_path / "crier.yml", workspace)
    log = tmp_path / "worker.log"
    started = crier_worker(env, log)
    try:
        await wait_until(lambda: outcome_replies(workspace) == 1, "the outcome reply", log)
        await wait_until(
            lambda: shown_sent(workspace) == channels(store), "every channel shown sent", log
        )
    finally:
        started.send_signal(signal.SIGTERM)
        started.wait(timeout=10)
    assert outcome_replies(workspace) == 1  # once, however many refreshes
    assert shown_sent(workspace) == channels(store)
