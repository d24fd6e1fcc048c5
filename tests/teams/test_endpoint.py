"""``POST /api/messages`` answers what is not a Bot Framework activity with 400, 413 or 415 — never
a 500, never a traceback, nothing written — and, with ``MicrosoftAppId`` set, a request without a
well-formed token with 401 before its body is read. (Which mode Teams runs in, and when it is
off: test_modes.py.)"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from multidict import CIMultiDict
from sqlalchemy import func, select
from sqlmodel import SQLModel

from bot.config import CrierConfig
from bot.storage.store import Store
from handlers.teams.guards import MAX_ACTIVITY
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.bot_tokens import FakeBotTokens, private_key
from tests.teams.harness import ANALYST, TeamsHarness, start_teams, teams_settings

APP_ID = "11111111-2222-3333-4444-555555555555"
JsonDict = dict[str, Any]


def rows(store: Store) -> dict[str, int]:
    """How many rows every table holds."""
    with store.transaction() as session:
        return {
            name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in SQLModel.metadata.tables.items()
        }


def troubles(records: list[logging.LogRecord]) -> list[str]:
    """Errors and tracebacks in the log."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.levelno >= logging.ERROR or r.exc_info or r.exc_text or "Traceback" in r.getMessage()
    ]


def help_message(teams: TeamsHarness) -> JsonDict:
    return teams._activity(ANALYST, "19:x", type="message", text="help")


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def changed(field: str, value: Any) -> Callable[[JsonDict], bytes]:
    return lambda activity: as_json({**activity, field: value})


def without(field: str) -> Callable[[JsonDict], bytes]:
    return lambda activity: as_json({k: v for k, v in activity.items() if k != field})


def nested(depth: int) -> Callable[[JsonDict], bytes]:
    def body(activity: JsonDict) -> bytes:
        holder = as_json({**activity, "value": "VALUE"})
        return holder.replace(b'"VALUE"', b"[" * depth + b"]" * depth)

    return body


# A body and why it is not an activity: each is answered 400.
NOT_ACTIVITIES: list[Any] = [
    pytest.param(lambda _: b"{nope", id="not JSON"),
    pytest.param(lambda _: b"[1]", id="a list"),
    pytest.param(lambda _: b"null", id="null"),
    pytest.param(lambda _: b'"message"', id="a string"),
    pytest.param(lambda _: b"1e999", id="infinity"),
    pytest.param(lambda _: b"", id="empty"),
    pytest.param(lambda _: b"{\xff\xfe}", id="invalid UTF-8"),
    pytest.param(lambda a: as_json(a).replace(b'"help"', b'"\\ud800"'), id="a lone surrogate"),
    pytest.param(lambda _: b"{}", id="an empty object"),
    pytest.param(without("type"), id="no type"),
    pytest.param(changed("type", 5), id="type a number"),
    pytest.param(changed("type", ["message"]), id="type a list"),
    pytest.param(changed("type", ""), id="type empty"),
    pytest.param(without("serviceUrl"), id="no serviceUrl"),
    pytest.param(changed("serviceUrl", 5), id="serviceUrl a number"),
    pytest.param(changed("serviceUrl", {}), id="serviceUrl an object"),
    pytest.param(changed("serviceUrl", "not a url"), id="serviceUrl not a URL"),
    pytest.param(changed("text", ["help"]), id="text a list"),
    pytest.param(changed("from", "29:ana"), id="from a string"),
    pytest.param(changed("from", {"id": 5}), id="from.id a number"),
    pytest.param(changed("conversation", {"id": ["19:x"]}), id="conversation.id a list"),
    pytest.param(changed("recipient", []), id="recipient a list"),
    pytest.param(changed("timestamp", "yesterday"), id="timestamp not a date"),
    pytest.param(changed("entities", "x"), id="entities a string"),
    pytest.param(changed("entities", [1]), id="entities of numbers"),
    pytest.param(changed("attachments", [{"contentType": 5}]), id="attachment type a number"),
    pytest.param(nested(100), id="nested 100 deep"),
    pytest.param(nested(5000), id="nested 5000 deep"),
]


async def send(
    teams: TeamsHarness,
    body: bytes | AsyncIterator[bytes],
    *,
    content_type: str | None = "application/json",
    headers: CIMultiDict[str] | None = None,
) -> tuple[int, str]:
    sent: CIMultiDict[str] = CIMultiDict(headers or {})
    skip: list[str] = []
    if content_type is None:
        skip.append("Content-Type")  # aiohttp would add application/octet-stream
    else:
        sent.add("Content-Type", content_type)
    async with teams.http.post(teams.url, data=body, headers=sent, skip_auto_headers=skip) as r:
        return r.status, await r.text()


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


# --- unauthenticated (CRIER_TEAMS_UNAUTHENTICATED, on this machine) ------------------------------


@pytest.mark.parametrize("body", NOT_ACTIVITIES)
async def test_what_is_not_an_activity_is_answered_400(
    teams: TeamsHarness,
    connector: FakeBotConnector,
    quiet: pytest.LogCaptureFixture,
    body: Callable[[JsonDict], bytes],
) -> None:
    before = rows(teams.crier.core.store)
    status, answer = await send(teams, body(help_message(teams)))
    await teams.settle()
    assert status == 400, answer
    assert json.loads(answer)["error"]
    assert not connector.calls and rows(teams.crier.core.store) == before
    assert not troubles(quiet.records)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "application/jsonx",
        "application/json; charset=latin-1",
        "",
    ],
)
async def test_a_body_that_is_not_json_by_its_type_is_answered_415(
    teams: TeamsHarness,
    connector: FakeBotConnector,
    quiet: pytest.LogCaptureFixture,
    content_type: str | None,
) -> None:
    status, answer = await send(teams, as_json(help_message(teams)), content_type=content_type)
    await teams.settle()
    assert status == 415, answer
    assert not connector.calls and not troubles(quiet.records)


async def test_two_content_types_are_refused(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    twice = CIMultiDict([("Content-Type", "application/json")])
    status, _ = await send(teams, as_json(help_message(teams)), headers=twice)
    assert status in {400, 415} and not connector.calls  # aiohttp itself answers 400


async def test_json_with_a_charset_is_an_activity(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    body = as_json(help_message(teams))
    status, _ = await send(teams, body, content_type="application/json; charset=utf-8")
    assert status == 202
    await connector.wait_for_posts(1)


async def test_a_body_over_the_limit_is_answered_413_as_a_whole_or_in_chunks(
    teams: TeamsHarness, connector: FakeBotConnector, quiet: pytest.LogCaptureFixture
) -> None:
    activity = help_message(teams)
    big = as_json({**activity, "text": "help " + "x" * MAX_ACTIVITY})
    status, _ = await send(teams, big)
    assert status == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read until the limit
        for start in range(0, len(big), 16 * 1024):
            yield big[start : start + 16 * 1024]

    status, _ = await send(teams, chunks())
    assert status == 413
    await teams.settle()
    assert not connector.calls and not troubles(quiet.records)
    # Just under the limit is an activity.
    fits = as_json({**activity, "text": "help"})
    assert len(fits) <= MAX_ACTIVITY
    assert (await send(teams, fits))[0] == 202


# --- with MicrosoftAppId: a token first ----------------------------------------------------------


@pytest.fixture
async def tokens(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeBotTokens]:
    async with FakeBotTokens() as fake:
        fake.point_sdk_here(monkeypatch)
        yield fake


@pytest.fixture
async def signed(
    store: Store, config: CrierConfig, connector: FakeBotConnector, tokens: FakeBotTokens
) -> AsyncIterator[TeamsHarness]:
    """Crier with a MicrosoftAppId: every request's token is checked."""
    settings = teams_settings(
        MicrosoftAppId=APP_ID,
        MicrosoftAppPassword="not-a-secret",
        CRIER_TEAMS_UNAUTHENTICATED=False,
    )
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_teams(
            store=store, config=config, connector=connector, http=http, settings=settings
        )
        try:
            yield harness
            await harness.settle()
        finally:
            await runner.cleanup()


def an_invoke(teams: TeamsHarness) -> JsonDict:
    """An invoke Crier answers in the HTTP response and with nothing sent to the connector."""
    return teams._activity(ANALYST, "19:x", type="invoke", name="crier/nothing", value={})


def garbled(name: str, good: str) -> str | None:
    """An Authorization header no Bot Framework service sends (``good`` is a token it would)."""
    head, claims, signature = good.split(".")
    return {
        "no header": None,
        "empty": "",
        "Bearer alone": "Bearer",
        "Bearer and a space": "Bearer ",
        "lower-case scheme": "bearer " + good,
        "Basic": "Basic dXNlcjpwYXNzd29yZA==",
        "two spaces": "Bearer  " + good,
        "three parts": "Bearer " + good + " x",
        "not base64 JSON": "Bearer a.b.c",
        "two segments": f"Bearer {head}{claims}.{signature}",
        "no signature": f"Bearer {head}.{claims}.",
        "claims a list": f"Bearer {head}.W10.{signature}",
        "claims nested deep": f"Bearer {head}.{'W1tb' * 1000}.{signature}",
        "long": "Bearer " + "A" * 7000 + ".e30.e30",
    }[name]


GARBLED = [
    "no header",
    "empty",
    "Bearer alone",
    "Bearer and a space",
    "lower-case scheme",
    "Basic",
    "two spaces",
    "three parts",
    "not base64 JSON",
    "two segments",
    "no signature",
    "claims a list",
    "claims nested deep",
    "long",
]


@pytest.mark.parametrize("header", GARBLED)
@pytest.mark.parametrize(
    "body", [NOT_ACTIVITIES[0], NOT_ACTIVITIES[6], NOT_ACTIVITIES[9], pytest.param(None, id="ok")]
)
async def test_without_a_well_formed_token_the_answer_is_401(
    signed: TeamsHarness,
    tokens: FakeBotTokens,
    connector: FakeBotConnector,
    quiet: pytest.LogCaptureFixture,
    header: str,
    body: Callable[[JsonDict], bytes] | None,
) -> None:
    value = garbled(header, tokens.token(app_id=APP_ID, service_url=connector.service_url))
    activity = an_invoke(signed)
    data = as_json(activity) if body is None else body(activity)
    headers: CIMultiDict[str] = CIMultiDict()
    if value is not None:
        headers["Authorization"] = value
    before = rows(signed.crier.core.store)
    status, answer = await send(signed, data, headers=headers)
    assert status == 401, answer
    assert tokens.fetches == 0  # refused before the SDK looked for keys
    assert rows(signed.crier.core.store) == before and not connector.calls
    assert not troubles(quiet.records)


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param({"exp": 1_700_000_000}, id="expired"),
        pytest.param({"exp": -(10**400)}, id="expired before floats begin"),
        pytest.param({"exp": "tomorrow"}, id="expiry not a number"),
        pytest.param({"aud": "another-bot"}, id="for another bot"),
        pytest.param({"iss": "https://evil.example"}, id="another issuer"),
        pytest.param(
            {"algorithm": "HS256", "key": "a shared secret, long enough for HS256"}, id="HS256"
        ),
        pytest.param({"algorithm": "none"}, id="unsigned"),
        pytest.param({"key_id": ""}, id="no key id"),
    ],
)
async def test_a_token_that_cannot_be_the_bot_frameworks_is_refused_without_fetching_keys(
    signed: TeamsHarness,
    tokens: FakeBotTokens,
    connector: FakeBotConnector,
    quiet: pytest.LogCaptureFixture,
    forged: dict[str, Any],
) -> None:
    token = tokens.forge(app_id=APP_ID, service_url=connector.service_url, **forged)
    headers = CIMultiDict([("Authorization", "Bearer " + token)])
    status, _ = await send(signed, as_json(an_invoke(signed)), headers=headers)
    assert status == 401 and tokens.fetches == 0
    assert not connector.calls and not troubles(quiet.records)


async def test_two_authorization_headers_are_refused(
    signed: TeamsHarness, tokens: FakeBotTokens, connector: FakeBotConnector
) -> None:
    good = tokens.header(app_id=APP_ID, service_url=connector.service_url)
    for pair in ([good, "Bearer x.y.z"], ["Bearer x.y.z", good], [good, good]):
        headers = CIMultiDict([("Authorization", value) for value in pair])
        status, _ = await send(signed, as_json(an_invoke(signed)), headers=headers)
        assert status == 401


async def test_the_answer_401_comes_before_the_body_is_read(
    signed: TeamsHarness, connector: FakeBotConnector
) -> None:
    """A caller with no token announces 50 MB and sends none of it: the answer comes at once."""
    where = urlsplit(signed.url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    try:
        writer.write(
            (
                f"POST {where.path} HTTP/1.1\r\nHost: {where.netloc}\r\n"
                "Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{"
            ).encode()
        )
        await writer.drain()
        async with asyncio.timeout(10):
            status_line = await reader.readline()
    finally:
        writer.close()
    assert status_line.split()[1] == b"401", status_line


async def test_a_token_the_bot_framework_signed_is_accepted(
    signed: TeamsHarness, tokens: FakeBotTokens, connector: FakeBotConnector
) -> None:
    headers = CIMultiDict(
        [("Authorization", tokens.header(app_id=APP_ID, service_url=connector.service_url))]
    )
    status, answer = await send(signed, as_json(an_invoke(signed)), headers=headers)
    assert status == 200, answer
    assert "Action.Execute only" in answer  # the bot itself answered
    assert tokens.fetches == 2  # the metadata and the keys, once


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param({"key": private_key("attacker")}, id="signed with another key"),
        pytest.param({"key_id": "unknown-key"}, id="a key the service does not publish"),
        pytest.param({"serviceurl": "https://elsewhere.example/"}, id="for another serviceUrl"),
        pytest.param({"nbf": 4_000_000_000}, id="not valid yet"),
    ],
)
async def test_a_token_the_bot_framework_did_not_sign_is_refused(
    signed: TeamsHarness,
    tokens: FakeBotTokens,
    connector: FakeBotConnector,
    quiet: pytest.LogCaptureFixture,
    forged: dict[str, Any],
) -> None:
    token = tokens.forge(app_id=APP_ID, service_url=connector.service_url, **forged)
    headers = CIMultiDict([("Authorization", "Bearer " + token)])
    before = rows(signed.crier.core.store)
    status, answer = await send(signed, as_json(an_invoke(signed)), headers=headers)
    assert status == 401, answer
    assert rows(signed.crier.core.store) == before and not connector.calls
    assert not troubles(quiet.records)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        pytest.param(b"{nope", "application/json", 400, id="not JSON"),
        pytest.param(b"{}", "application/json", 400, id="not an activity"),
        pytest.param(b"{}", "text/plain", 415, id="not JSON by its type"),
        pytest.param(b"[" * (MAX_ACTIVITY + 1), "application/json", 413, id="too big"),
    ],
)
async def test_with_a_well_formed_token_a_bad_body_is_refused_before_the_token_is_checked(
    signed: TeamsHarness,
    tokens: FakeBotTokens,
    connector: FakeBotConnector,
    body: bytes,
    content_type: str,
    expected: int,
) -> None:
    headers = CIMultiDict(
        [("Authorization", tokens.header(app_id=APP_ID, service_url=connector.service_url))]
    )
    status, _ = await send(signed, body, content_type=content_type, headers=headers)
    assert status == expected and tokens.fetches == 0


async def test_when_the_keys_cannot_be_fetched_the_answer_is_503_and_the_log_says_why(
    signed: TeamsHarness,
    tokens: FakeBotTokens,
    connector: FakeBotConnector,
    monkeypatch: pytest.MonkeyPatch,
    quiet: pytest.LogCaptureFixture,
) -> None:
    from botframework.connector.auth import ChannelValidation

    # Nothing listens there: the SDK's fetch fails at once.
    closed = f"{tokens.base_url.rsplit(':', 1)[0]}:9/v1/.well-known/openidconfiguration"
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", closed)
    headers = CIMultiDict(
        [("Authorization", tokens.header(app_id=APP_ID, service_url=connector.service_url))]
    )
    for _ in range(3):
        status, _ = await send(signed, as_json(an_invoke(signed)), headers=headers)
        assert status == 503
    said = [r.getMessage() for r in quiet.records if "signing keys" in r.getMessage()]
    assert said and all("503" in line for line in said), said
    assert not troubles(quiet.records)
