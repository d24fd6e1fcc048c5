"""`crier serve` with SLACK_APP_TOKEN: the same flow over Slack's Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib

from bot.config import STARTER_CONFIG, Settings
from handlers.main import run_server
from handlers.sandbox.workspace import SlackWorkspace
from handlers.server import open_crier
from tests.conftest import ANALYST, COMMS
from tests.fakes.slack_requests import form_fields, slash_command
from tests.scenario.harness import SECRET, TOKEN, as_text


async def test_a_slash_command_over_socket_mode_drafts_in_the_thread(database_url: str) -> None:
    async with SlackWorkspace(bot_token=TOKEN, channels={COMMS: "it-outages"}) as workspace:
        settings = Settings(
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_APP_TOKEN=workspace.socket_mode.app_token,
            SLACK_API_URL=workspace.api_url,
            CRIER_DATABASE_URL=database_url,
            CRIER_CONFIG=str(STARTER_CONFIG),
        )
        stop = asyncio.Event()
        server = asyncio.create_task(
            run_server(open_crier(settings), settings, "127.0.0.1", 0, stop=stop)
        )
        try:
            await workspace.socket_mode.wait_connected()
            body = slash_command(
                "/outage",
                "VPN: cannot connect from off campus",
                user_id=ANALYST,
                channel_id=COMMS,
                response_url=workspace.new_response_url(),
            )
            ack = await workspace.socket_mode.send("slash_commands", form_fields(body))
            assert "Drafting" in as_text(ack.get("payload", {}))
            await workspace.wait_for("chat.postMessage", count=2)
            root = workspace.messages(COMMS)[0]
            assert "VPN: cannot connect from off campus" in as_text(root)
            assert len(workspace.thread(COMMS, root["ts"])) == 1
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(server, timeout=10)


async def test_stopping_finishes_an_acknowledged_outage_before_the_server_exits(
    database_url: str,
) -> None:
    """A deploy's SIGTERM right after the ack: the draft is still posted, not dropped."""
    async with SlackWorkspace(bot_token=TOKEN, channels={COMMS: "it-outages"}) as workspace:
        settings = Settings(
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_APP_TOKEN=workspace.socket_mode.app_token,
            SLACK_API_URL=workspace.api_url,
            CRIER_DATABASE_URL=database_url,
            CRIER_CONFIG=str(STARTER_CONFIG),
        )
        stop = asyncio.Event()
        server = asyncio.create_task(
            run_server(open_crier(settings), settings, "127.0.0.1", 0, stop=stop)
        )
        await workspace.socket_mode.wait_connected()
        workspace.delay("chat.postMessage", 0.5)  # the work is still under way at the stop
        body = slash_command(
            "/outage",
            "Email: messages are delayed",
            user_id=ANALYST,
            channel_id=COMMS,
            response_url=workspace.new_response_url(),
        )
        ack = await workspace.socket_mode.send("slash_commands", form_fields(body))
        assert "Drafting" in as_text(ack.get("payload", {}))
        stop.set()
        await asyncio.wait_for(server, timeout=20)
        # Checked the moment the server has stopped: nothing was left to finish later.
        root = workspace.messages(COMMS)[0]
        assert "Email: messages are delayed" in as_text(root)
        assert len(workspace.thread(COMMS, root["ts"])) == 1
