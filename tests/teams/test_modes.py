"""When Teams runs, and how: with ``MicrosoftAppId`` every request's token is checked; without
it Teams runs only when ``CRIER_TEAMS_UNAUTHENTICATED`` says so, only on a loopback address, with
a warning at start; otherwise it is off, ``/api/messages`` says so and the start log says how to
turn it on."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from bot.config import CrierConfig
from bot.settings import Settings
from bot.storage.store import Store
from handlers.teams.ids import PLATFORM
from tests.fakes.bot_connector import FakeBotConnector
from tests.processes import CRIER
from tests.teams.harness import ANALYST, TeamsHarness, start_teams, teams_settings

APP_ID = "11111111-2222-3333-4444-555555555555"


@asynccontextmanager
async def started(
    settings: Settings, store: Store, config: CrierConfig, connector: FakeBotConnector
) -> AsyncIterator[TeamsHarness]:
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_teams(
            store=store, config=config, connector=connector, http=http, settings=settings
        )
        try:
            yield harness
        finally:
            await runner.cleanup()


def said(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("handlers.teams") and r.levelno >= level
    ]


async def help_status(teams: TeamsHarness) -> tuple[int, str]:
    return await teams.post(teams._activity(ANALYST, "19:x", type="message", text="help"))


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        pytest.param(
            teams_settings(CRIER_TEAMS_UNAUTHENTICATED=False),
            ["MicrosoftAppId", "CRIER_TEAMS_UNAUTHENTICATED=true"],
            id="neither a MicrosoftAppId nor CRIER_TEAMS_UNAUTHENTICATED",
        ),
        pytest.param(
            teams_settings(CRIER_HOST="0.0.0.0"),
            ["CRIER_TEAMS_UNAUTHENTICATED", "0.0.0.0", "MicrosoftAppId"],
            id="unauthenticated, serving on every address",
        ),
        pytest.param(
            teams_settings(CRIER_HOST="192.0.2.7"),
            ["CRIER_TEAMS_UNAUTHENTICATED", "192.0.2.7", "MicrosoftAppId"],
            id="unauthenticated, serving on a network address",
        ),
    ],
)
async def test_teams_is_off_says_why_at_start_and_answers_404(
    store: Store,
    config: CrierConfig,
    connector: FakeBotConnector,
    caplog: pytest.LogCaptureFixture,
    settings: Settings,
    why: list[str],
) -> None:
    caplog.set_level(logging.INFO)
    async with started(settings, store, config, connector) as teams:
        lines = said(caplog)
        assert len(lines) == 1, lines
        assert all(word in lines[0] for word in why), lines[0]
        assert teams.crier.teams is None and PLATFORM not in teams.crier.core.presenters
        status, answer = await help_status(teams)
        assert status == 404, answer
        assert "Teams is off" in json.loads(answer)["error"]
        assert not connector.calls


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.53"])
async def test_unauthenticated_on_this_machine_runs_with_one_warning(
    store: Store,
    config: CrierConfig,
    connector: FakeBotConnector,
    caplog: pytest.LogCaptureFixture,
    host: str,
) -> None:
    caplog.set_level(logging.INFO)
    async with started(teams_settings(CRIER_HOST=host), store, config, connector) as teams:
        lines = said(caplog)
        assert len(lines) == 1 and said(caplog, logging.WARNING) == lines, lines
        assert "UNAUTHENTICATED" in lines[0] and "CRIER_TEAMS_UNAUTHENTICATED" in lines[0]
        status, _ = await help_status(teams)
        assert status == 202
        await connector.wait_for_posts(1)


async def test_with_a_microsoft_app_id_the_unauthenticated_setting_is_ignored(
    store: Store,
    config: CrierConfig,
    connector: FakeBotConnector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = teams_settings(MicrosoftAppId=APP_ID, MicrosoftAppPassword="not-a-secret")
    async with started(settings, store, config, connector) as teams:
        lines = said(caplog)
        assert len(lines) == 1 and "ignored" in lines[0], lines
        assert (await help_status(teams))[0] == 401  # no token
        assert not connector.calls


@asynccontextmanager
async def serve(tmp_path: Path, host: str, **env: str) -> AsyncIterator[tuple[str, list[str]]]:
    """``crier serve --host host --port 0``: its URL on 127.0.0.1 and what it said at start."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "Microsoft", "CRIER_"))
    }
    environment |= {
        "CRIER_DATABASE_URL": f"sqlite:///{tmp_path / 'crier.db'}",
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        CRIER,
        "serve",
        "--host",
        host,
        "--port",
        "0",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not lines or "listening on" not in lines[-1]:
                line = await process.stdout.readline()
                assert line, f"crier serve stopped: {lines}"
                lines.append(line.decode(errors="replace").rstrip())
        port = re.search(r"listening on http://\S+:(\d+)", lines[-1])
        assert port, lines
        yield f"http://127.0.0.1:{port.group(1)}", lines
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


@pytest.mark.parametrize(
    ("host", "env", "expected", "status"),
    [
        pytest.param(
            "0.0.0.0",
            {"CRIER_TEAMS_UNAUTHENTICATED": "true"},
            "Teams is off: CRIER_TEAMS_UNAUTHENTICATED",
            404,
            id="unauthenticated on every address: refused",
        ),
        pytest.param(
            "127.0.0.1",
            {"CRIER_TEAMS_UNAUTHENTICATED": "true"},
            "WARNING handlers.teams.app: Teams runs UNAUTHENTICATED",
            400,
            id="unauthenticated on this machine: warned",
        ),
        pytest.param("127.0.0.1", {}, "Teams is off: set MicrosoftAppId", 404, id="off"),
    ],
)
async def test_crier_serve_says_at_start_how_teams_runs(
    tmp_path: Path, host: str, env: dict[str, str], expected: str, status: int
) -> None:
    async with serve(tmp_path, host, **env) as (url, lines):
        assert sum(expected in line for line in lines) == 1, "\n".join(lines)
        assert not any("Traceback" in line for line in lines), "\n".join(lines)
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{url}/api/messages", json={}) as response,
        ):
            assert response.status == status, await response.text()
