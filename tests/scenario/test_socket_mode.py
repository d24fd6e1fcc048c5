"""`crier serve` with SLACK_APP_TOKEN: the same flow over Slack's Socket Mode."""

from __future__ import annotations

import asyncio

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


async def test_stopping_finishes_an_acknowledged_outage_before_the_server_exits(
    database_url: str,
) -> None:
    """A deploy's SIGTERM right after the ack: the draft is still posted, not dropped."""
    async with serving_by_socket_mode(database_url) as (workspace, stop, server):
        workspace.delay("chat.postMessage", 0.5)  # the work is still under way at the stop
        ack = await outage_by_socket_mode(workspace, "Email: messages are delayed")
        assert "Drafting" in as_text(ack.get("payload", {}))
        stop.set()
        await asyncio.wait_for(server, timeout=20)
        # Checked the moment the server has stopped: nothing was left to finish later.
        root = workspace.messages(COMMS)[0]
        assert "Email: messages are delayed" in as_text(root)
        assert len(workspace.thread(COMMS, root["ts"])) == 1
