"""``crier serve`` (the real process) with an app token Slack refuses, or a Slack it cannot
reach: it says what is wrong once, without a traceback or the token, serves HTTP meanwhile,
and a SIGTERM stops it at once."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from pathlib import Path

import aiohttp

from bot.config import STARTER_CONFIG
from handlers.sandbox.workspace import SlackWorkspace
from tests.conftest import COMMS
from tests.processes import CRIER, tail, wait_until
from tests.scenario.harness import SECRET, TOKEN

WRONG = "xapp-1-A0WRONG-0000-not-the-right-token"
LISTENING = re.compile(rb"listening on (http://127\.0\.0\.1:\d+)")
STOPS_WITHIN = 10.0  # generous: the point is that it stops, not how fast


async def serve_says_and_stops(api_url: str, database_url: str, log: Path, said: str) -> str:
    """Start serve; wait for ``said`` in its log and /healthz; SIGTERM it; its whole log."""
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_APP_TOKEN": WRONG,
        "SLACK_API_URL": api_url,
        "CRIER_DATABASE_URL": database_url,
        "CRIER_CONFIG": str(STARTER_CONFIG),
    }
    with log.open("wb") as sink:
        serve = await asyncio.create_subprocess_exec(
            CRIER,
            *("serve", "--host", "127.0.0.1", "--port", "0"),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=sink,
        )
    try:
        assert serve.stdout is not None
        line = await asyncio.wait_for(serve.stdout.readline(), timeout=60)
        found = LISTENING.search(line)
        assert found, f"crier serve did not start: {line!r}\n{tail(log)}"
        await wait_until(lambda: said in everything(log), said, log)
        async with (
            aiohttp.ClientSession() as http,
            http.get(found.group(1).decode() + "/healthz") as answer,
        ):
            assert answer.status == 200
        serve.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(serve.wait(), timeout=STOPS_WITHIN)
        except TimeoutError:
            raise AssertionError(f"SIGTERM did not stop crier serve:\n{tail(log)}") from None
        assert serve.returncode == 0, tail(log)
    finally:
        if serve.returncode is None:
            serve.kill()
            await serve.wait()
    return everything(log)


def everything(log: Path) -> str:
    return log.read_text(errors="replace")


async def test_a_refused_app_token_is_named_once_and_sigterm_stops_serve(
    database_url: str, tmp_path: Path
) -> None:
    async with SlackWorkspace(bot_token=TOKEN, channels={COMMS: "it-outages"}) as workspace:
        said = await serve_says_and_stops(
            workspace.api_url, database_url, tmp_path / "crier.log", "SLACK_APP_TOKEN"
        )
        assert workspace.calls_to("apps.connections.open")
    [line] = [x for x in said.splitlines() if "SLACK_APP_TOKEN" in x]
    assert "invalid_auth" in line
    assert "connections:write" in line
    assert "Traceback" not in said
    assert WRONG not in said


async def test_an_unreachable_slack_is_named_once_and_sigterm_stops_serve(
    database_url: str, tmp_path: Path
) -> None:
    with socket.socket() as closed:  # a port nobody listens on: connection refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    said = await serve_says_and_stops(
        f"http://127.0.0.1:{port}/api/", database_url, tmp_path / "crier.log", "cannot reach Slack"
    )
    [line] = [x for x in said.splitlines() if "cannot reach Slack" in x]
    assert f"127.0.0.1:{port}" in line
    assert "Traceback" not in said
    assert WRONG not in said
