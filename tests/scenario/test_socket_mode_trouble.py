"""`crier serve` by Socket Mode when things go wrong: a refused or unreachable app token, no
signing secret, malformed envelopes. ``run_server`` itself, in this process, with the back-off's
sleep in the test's hands so that nothing waits for real."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Iterator

import aiohttp
import pytest

from bot.config import STARTER_CONFIG
from bot.settings import Settings
from handlers.main import run_server
from handlers.server import open_crier
from handlers.slack.socket_mode import Backoff
from tests.conftest import COMMS
from tests.scenario.harness import as_text
from tests.scenario.socket_serve import drafted_by_socket_mode, serving_by_socket_mode

WRONG = "xapp-1-A0WRONG-0000-not-the-right-token"
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


class Sleeps:
    """The back-off's sleep: records each delay asked for and returns only when allowed."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._go: asyncio.Queue[None] = asyncio.Queue()

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await self._go.get()

    def allow(self, times: int = 1) -> None:
        for _ in range(times):
            self._go.put_nowait(None)


async def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:  # noqa: ASYNC109
    try:
        async with asyncio.timeout(timeout):
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def listening_url(capsys: pytest.CaptureFixture[str]) -> str:
    """The address ``run_server`` printed."""
    seen = ""

    def printed() -> bool:
        nonlocal seen
        seen += capsys.readouterr().out
        return LISTENING.search(seen) is not None

    await until(printed, "the server to listen")
    found = LISTENING.search(seen)
    assert found is not None
    return found.group(1)


def lines(caplog: pytest.LogCaptureFixture, *words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if all(w in r.getMessage() for w in words)]


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO)
    yield caplog


def test_the_back_off_doubles_from_10_s_to_5_min_with_jitter() -> None:
    widest = Backoff(jitter=lambda: 1.0)
    assert [widest.delay(n) for n in range(1, 9)] == [10, 20, 40, 80, 160, 300, 300, 300]
    narrowest = Backoff(jitter=lambda: 0.0)
    assert [narrowest.delay(n) for n in range(1, 7)] == [5, 10, 20, 40, 80, 150]


async def test_a_refused_app_token_is_reported_once_and_retried_with_back_off(
    database_url: str, logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    sleeps = Sleeps()
    backoff = Backoff(sleep=sleeps, jitter=lambda: 1.0)
    async with serving_by_socket_mode(
        database_url, app_token=WRONG, backoff=backoff, connected=False
    ) as (workspace, stop, server):
        sleeps.allow(3)
        await until(lambda: len(sleeps.asked) == 4, "four refused attempts")
        assert len(workspace.calls_to("apps.connections.open")) == 4
        assert sleeps.asked == [10, 20, 40, 80]

        # Serve answers meanwhile.
        url = await listening_url(capsys)
        async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as answer:
            assert answer.status == 200

        [said] = lines(logs, "SLACK_APP_TOKEN")
        assert "invalid_auth" in said
        assert "connections:write" in said
        assert WRONG not in logs.text
        no_tracebacks(logs)

        # The token is put right in Slack: the next attempt connects, and the log says so.
        workspace.socket_mode.app_token = WRONG
        sleeps.allow()
        await workspace.socket_mode.wait_connected()
        await until(lambda: bool(lines(logs, "Connected to Slack by Socket Mode")), "recovery")
        [recovered] = lines(logs, "Connected to Slack by Socket Mode")
        assert "5 attempts" in recovered
        root = await drafted_by_socket_mode(workspace, "VPN: cannot connect from off campus")
        assert "VPN: cannot connect from off campus" in as_text(root)
        stop.set()
        await asyncio.wait_for(server, timeout=20)
    assert len(lines(logs, "SLACK_APP_TOKEN")) == 1
    no_tracebacks(logs)


async def test_a_dropped_connection_is_made_again_the_same_way(
    database_url: str, logs: pytest.LogCaptureFixture
) -> None:
    """Slack closes the connection and, meanwhile, the token has been revoked: said once,
    retried with back-off, and connected again once the token is put right."""
    sleeps = Sleeps()
    backoff = Backoff(sleep=sleeps, jitter=lambda: 1.0)
    serving = serving_by_socket_mode(database_url, backoff=backoff)
    async with serving as (workspace, _stop, _server):
        token = workspace.socket_mode.app_token
        workspace.socket_mode.app_token = "xapp-someone-else"  # revoked in Slack
        await workspace.socket_mode.drop()
        sleeps.allow(2)
        await until(lambda: len(sleeps.asked) == 3, "three refused attempts")
        assert sleeps.asked == [10, 20, 40]
        assert len(lines(logs, "Slack refused SLACK_APP_TOKEN")) == 1

        workspace.socket_mode.app_token = token
        sleeps.allow()
        await workspace.socket_mode.wait_connected()
        assert workspace.socket_mode.connections == 2
        await until(lambda: bool(lines(logs, "after 4 attempts")), "recovery")
        root = await drafted_by_socket_mode(workspace, "VPN: cannot connect from off campus")
        assert "VPN" in as_text(root)
    assert len(lines(logs, "Slack refused SLACK_APP_TOKEN")) == 1
    no_tracebacks(logs)


async def test_a_signal_stops_serve_in_the_middle_of_connecting(
    database_url: str, logs: pytest.LogCaptureFixture
) -> None:
    """Slack's address takes the connection and never answers: the stop does not wait."""
    asked = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        asked.set()
        await reader.read()  # until Crier hangs up

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    async with silent:
        port = silent.sockets[0].getsockname()[1]
        settings = Settings(
            SLACK_BOT_TOKEN="xoxb-test-token",
            SLACK_SIGNING_SECRET="test-signing-secret",
            SLACK_APP_TOKEN=WRONG,
            SLACK_API_URL=f"http://127.0.0.1:{port}/api/",
            CRIER_DATABASE_URL=database_url,
            CRIER_CONFIG=str(STARTER_CONFIG),
        )
        stop = asyncio.Event()
        server = asyncio.create_task(
            run_server(open_crier(settings), settings, "127.0.0.1", 0, stop=stop)
        )
        await asyncio.wait_for(asked.wait(), timeout=20)  # apps.connections.open is under way
        stop.set()
        await asyncio.wait_for(server, timeout=10)
    no_tracebacks(logs)


async def test_socket_mode_needs_no_signing_secret(
    database_url: str, logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving_by_socket_mode(database_url, signing_secret=None) as (workspace, _, _s):
        root = await drafted_by_socket_mode(workspace, "Email: messages are delayed")
        assert "Email: messages are delayed" in as_text(root)
        assert len(workspace.thread(COMMS, root["ts"])) == 1
        assert not lines(logs, "Slack is off")

        # Nothing can verify a request over HTTP, so /slack/events is not served.
        url = await listening_url(capsys)
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{url}/slack/events", data="command=/outage&text=x") as answer,
        ):
            assert answer.status == 404
            assert "SLACK_SIGNING_SECRET" in await answer.text()


ENVELOPE = "e-malformed-1"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        pytest.param(
            json.dumps({"envelope_id": ENVELOPE, "type": "slash_commands", "payload": [1]}),
            "payload",
            id="payload-a-list",
        ),
        pytest.param(
            json.dumps({"envelope_id": ENVELOPE, "type": "interactive", "payload": "junk"}),
            "payload",
            id="payload-a-string",
        ),
        pytest.param(
            json.dumps({"envelope_id": ENVELOPE, "type": "slash_commands"}),
            "payload",
            id="no-payload",
        ),
        pytest.param(
            json.dumps({"envelope_id": ENVELOPE, "type": 7, "payload": {}}),
            "type",
            id="type-a-number",
        ),
        pytest.param(
            json.dumps(
                {
                    "envelope_id": ENVELOPE,
                    "type": "events_api",
                    "payload": {"type": "event_callback", "event": [1], "event_id": "Ev1"},
                }
            ),
            "malformed",
            id="event-a-list",
        ),
        pytest.param(  # bolt failed on it (500): never acknowledged, so Slack sent it again
            json.dumps(
                {
                    "envelope_id": ENVELOPE,
                    "type": "events_api",
                    "payload": {"type": "event_callback", "event": None, "event_id": "Ev1"},
                }
            ),
            "malformed",
            id="event-null",
        ),
    ],
)
async def test_a_malformed_envelope_is_acknowledged_and_logged_in_one_line(
    database_url: str, logs: pytest.LogCaptureFixture, text: str, why: str
) -> None:
    async with serving_by_socket_mode(database_url) as (ws, _, _s):
        logs.clear()
        ack = await ws.socket_mode.send_raw(text, envelope_id=ENVELOPE)
        assert ack == {"envelope_id": ENVELOPE}
        await until(lambda: bool(lines(logs, why)), "the log line")
        assert len([r for r in logs.records if r.levelno >= logging.WARNING]) == 1
        no_tracebacks(logs)
        # Still serving.
        root = await drafted_by_socket_mode(ws, "VPN: cannot connect from off campus")
        assert "VPN" in as_text(root)
    no_tracebacks(logs)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{nope", id="not-json"),
        pytest.param("[1, 2]", id="json-not-an-object"),
        pytest.param('"hello"', id="json-a-string"),
        pytest.param(json.dumps({"type": "slash_commands", "payload": {}}), id="no-envelope-id"),
    ],
)
async def test_a_message_without_an_envelope_id_is_logged_in_one_line(
    database_url: str, logs: pytest.LogCaptureFixture, text: str
) -> None:
    async with serving_by_socket_mode(database_url) as (ws, _, _s):
        logs.clear()
        await ws.socket_mode.send_raw(text)
        await until(lambda: bool(lines(logs, "Socket Mode message")), "the log line")
        root = await drafted_by_socket_mode(ws, "VPN: cannot connect from off campus")
        assert "VPN" in as_text(root)
        assert len(lines(logs, "Socket Mode message")) == 1
    no_tracebacks(logs)
