"""``crier serve``'s own ``run_server``, connected to a fake workspace by Socket Mode: the
process a deployment runs, work process included."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bot.config import STARTER_CONFIG
from bot.settings import Settings
from handlers.main import run_server
from handlers.sandbox.workspace import SlackWorkspace
from handlers.server import open_crier
from handlers.slack.socket_mode import Backoff
from tests.conftest import ANALYST, COMMS
from tests.fakes.slack_requests import form_fields, slash_command
from tests.scenario.harness import SECRET, TOKEN, as_text


@contextlib.asynccontextmanager
async def serving_by_socket_mode(
    database_url: str,
    config_path: str | None = None,
    *,
    signing_secret: str | None = SECRET,
    app_token: str | None = None,
    backoff: Backoff | None = None,
    connected: bool = True,
    **environment: object,
) -> AsyncIterator[tuple[SlackWorkspace, asyncio.Event, asyncio.Task[None]]]:
    """``crier serve``'s own ``run_server``, connected to a fake workspace by Socket Mode.

    ``app_token``: the one Crier is given (by default the one the workspace accepts);
    ``connected=False`` yields without waiting for the connection."""
    async with SlackWorkspace(bot_token=TOKEN, channels={COMMS: "it-outages"}) as workspace:
        settings = Settings(
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=signing_secret,
            SLACK_APP_TOKEN=app_token or workspace.socket_mode.app_token,
            SLACK_API_URL=workspace.api_url,
            CRIER_DATABASE_URL=database_url,
            CRIER_CONFIG=str(config_path or STARTER_CONFIG),
            **environment,
        )
        stop = asyncio.Event()
        server = asyncio.create_task(
            run_server(open_crier(settings), settings, "127.0.0.1", 0, stop=stop, backoff=backoff)
        )
        try:
            if connected:  # generous: serve starts its work process first, slow on a busy box
                await workspace.socket_mode.wait_connected(timeout=30)
            yield workspace, stop, server
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(server, timeout=20)


async def outage_by_socket_mode(workspace: SlackWorkspace, text: str) -> dict[str, object]:
    body = slash_command(
        "/outage",
        text,
        user_id=ANALYST,
        channel_id=COMMS,
        response_url=workspace.new_response_url(),
    )
    return await workspace.socket_mode.send("slash_commands", form_fields(body))


async def drafted_by_socket_mode(workspace: SlackWorkspace, text: str) -> dict[str, Any]:
    """Type ``/outage <text>``; once acked "Drafting" and posted, the incident's root message."""
    ack = await outage_by_socket_mode(workspace, text)
    assert "Drafting" in as_text(ack.get("payload", {}))
    await workspace.wait_for("chat.postMessage", count=2)
    root: dict[str, Any] = workspace.messages(COMMS)[0]
    return root
