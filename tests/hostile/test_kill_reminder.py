"""Crier killed (SIGKILL) in the middle of a reminder, then started again: no reminder is lost.

Three approval reminders come due together; ``crier worker`` claims them and is killed while
Slack is still answering them. Once the claims' lease runs out, the restarted worker sends every
reminder. Slack's chat.postMessage has no idempotency key, so a reminder that was on its way to
Slack at the kill appears twice (Slack still posts it) — never more, and no other one twice.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlmodel import select

from bot.scheduling.reminders import APPROVAL
from bot.storage.models import Job
from bot.storage.store import Store
from handlers.sandbox.workspace import SlackWorkspace
from tests.conftest import ANALYST, COMMS, make_config
from tests.hostile.checks import quiesce, worker_env
from tests.processes import crier_worker, wait_until
from tests.scenario.harness import start_harness

REMINDED = "A draft has waited"
SLACK_SLOWNESS = 1.5  # seconds Slack takes to answer chat.postMessage while the kill lands


def jobs(store: Store) -> list[Job]:
    with store.transaction() as session:
        return list(session.exec(select(Job).where(Job.kind == APPROVAL)).all())


def reminders_per_thread(workspace: SlackWorkspace) -> list[int]:
    roots = [m for m in workspace.messages(COMMS) if m.get("thread_ts", m["ts"]) == m["ts"]]
    return [
        sum(REMINDED in m.get("text", "") for m in workspace.thread(COMMS, root["ts"]))
        for root in roots
    ]


async def test_a_kill_during_a_reminder_loses_none(
    store: Store, database_url: str, workspace: SlackWorkspace, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as http:  # three incidents, each draft waiting
        slack, runner = await start_harness(
            store=store, config=make_config(), workspace=workspace, http=http
        )
        for text in ("Email: outlook is down", "VPN: cannot connect", "Phones: no dial tone"):
            await slack.command(text, user=ANALYST)
        await workspace.wait_for("chat.postMessage", count=6)
        await quiesce(slack)
        await runner.cleanup()
    started = datetime.now(UTC)
    with store.transaction() as session:  # ... and their approval reminders due now
        for job in session.exec(select(Job).where(Job.kind == APPROVAL)).all():
            job.due_at = started - timedelta(seconds=1)
            session.add(job)

    env = {
        **worker_env(database_url, tmp_path / "crier.yml", workspace),
        "CRIER_LEASE_SECONDS": "2",
    }
    log = tmp_path / "worker.log"
    workspace.delay("chat.postMessage", SLACK_SLOWNESS)  # the kill lands mid-reminder
    first = crier_worker(env, log)
    try:
        await wait_until(lambda: any(j.claimed_by for j in jobs(store)), "a claim", log)
        await asyncio.sleep(0.5)  # the reminders are on their way to Slack
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=10)
    assert all(j.claimed_by and j.due_at < started for j in jobs(store))  # none finished
    await asyncio.sleep(SLACK_SLOWNESS + 0.2)  # what was on its way is posted all the same
    in_flight = reminders_per_thread(workspace)
    assert sum(in_flight) >= 1, in_flight  # the kill did land mid-reminder
    workspace.delay("chat.postMessage", 0)

    second = crier_worker(env, log)
    try:  # after the lease, every reminder fires; each then waits for its next repeat
        repeat = started + timedelta(minutes=1)
        await wait_until(lambda: all(j.due_at > repeat for j in jobs(store)), "repeats", log)
        await wait_until(
            lambda: all(n >= 1 for n in reminders_per_thread(workspace)), "reminders", log
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=10)

    counts = reminders_per_thread(workspace)
    assert len(counts) == 3 and all(n >= 1 for n in counts), counts  # none lost
    # Each sent once after the restart: twice only where one was on its way at the kill.
    assert counts == [n + 1 for n in in_flight], (in_flight, counts)
    assert all(j.claimed_by is None for j in jobs(store))
