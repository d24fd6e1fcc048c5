"""`crier serve` with SLACK_APP_TOKEN: the same flow over Slack's Socket Mode."""

from __future__ import annotations

import asyncio

from sqlalchemy import create_engine, text

from bot.storage.store import normalise_database_url
from tests.conftest import COMMS
from tests.scenario.harness import as_text
from tests.scenario.socket_serve import (
    drafted_by_socket_mode,
    outage_by_socket_mode,
    serving_by_socket_mode,
)


async def test_a_slash_command_over_socket_mode_drafts_in_the_thread(database_url: str) -> None:
    async with serving_by_socket_mode(database_url) as (workspace, _stop, _server):
        root = await drafted_by_socket_mode(workspace, "VPN: cannot connect from off campus")
        assert "VPN: cannot connect from off campus" in as_text(root)
        assert len(workspace.thread(COMMS, root["ts"])) == 1


def threads_done(database_url: str) -> bool:
    """Whether the incident's thread (the last step of a declaration) has been posted."""
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            left = connection.execute(
                text(
                    "SELECT count(*) FROM job"
                    " WHERE kind IN ('declare', 'thread') AND done_at IS NULL"
                )
            ).scalar_one()
            return int(left) == 0
    finally:
        engine.dispose()


async def test_a_stop_right_after_the_ack_loses_nothing_and_the_next_start_finishes(
    database_url: str,
) -> None:
    """A deploy's SIGTERM right after the ack: the stop does not wait for the draft (it takes
    seconds), and whatever was left is done by the next start, once."""
    async with serving_by_socket_mode(database_url) as (first, stop, server):
        first.delay("chat.postMessage", 0.5)  # the work is still under way at the stop
        ack = await outage_by_socket_mode(first, "Email: messages are delayed")
        assert "Drafting" in as_text(ack.get("payload", {}))
        stop.set()
        await asyncio.wait_for(server, timeout=20)
    finished_before = threads_done(database_url)
    async with serving_by_socket_mode(database_url) as (second, _stop, _server):
        if not finished_before:
            await second.wait_for("chat.postMessage", count=2)  # the root and the draft
        roots = [
            m
            for workspace in (first, second)
            for m in workspace.messages(COMMS)
            if "Email: messages are delayed" in as_text(m)
        ]
        assert len(roots) == 1
