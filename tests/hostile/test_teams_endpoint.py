"""Any body and any headers to ``POST /api/messages``, in both modes Teams runs in (unauthenticated
on this machine, and with a MicrosoftAppId): never a 5xx, never an error or a traceback in the
log, nothing written to the database; with a MicrosoftAppId nothing reaches the bot at all."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from multidict import CIMultiDict
from sqlmodel import col, select

from bot.config import CrierConfig
from bot.storage.models import AuditEvent
from bot.storage.store import Store
from handlers.teams.ids import Data, Field, Verb
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.bot_tokens import ISSUER, KEY_ID, FakeBotTokens, private_key
from tests.hostile.checks import PROPERTY
from tests.teams.conftest import teams_config
from tests.teams.harness import ANALYST, TeamsHarness, start_teams, teams_settings
from tests.teams.test_endpoint import APP_ID, rows, troubles

JsonDict = dict[str, Any]
EMULATOR_ISSUER = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["help", "message", "invoke", "http://127.0.0.1:1/", "19:x", "msteams"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "type",
    "id",
    "name",
    "serviceUrl",
    "channelId",
    "from",
    "recipient",
    "conversation",
    "text",
    "textFormat",
    "entities",
    "attachments",
    "value",
    "replyToId",
    "timestamp",
    "localTimestamp",
    "channelData",
    "locale",
    "membersAdded",
    "relatesTo",
]
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
content_types = st.one_of(
    st.just("application/json"),
    st.just("application/json; charset=utf-8"),
    st.none(),
    header_text,
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=utf-16",
            "Application/JSON",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/json, text/plain",
        ]
    ),
)
# Headers a proxy or an attacker adds; never Content-Length or Transfer-Encoding, which would make
# the client itself send a broken request and wait.
extra_headers = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "Authorization",
                "Content-Type",
                "Content-Encoding",
                "X-Forwarded-For",
                "Forwarded",
                "Expect",
                "Channelid",
                "X-Ms-Conversation-Id",
            ]
        ),
        st.one_of(header_text, st.sampled_from(["gzip", "deflate", "br", "100-continue"])),
    ),
    max_size=3,
)


@st.composite
def bodies(draw: st.DrawFn, base: JsonDict) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "activity", "activity", "activity", "as is"]))
    event(f"body: {kind}")
    if kind == "as is":  # a good activity: what is wrong is in the headers, if anything
        return json.dumps(base).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    activity = dict(base)
    for field in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True)):
        if draw(st.booleans()):
            activity.pop(field, None)
        else:
            activity[field] = draw(json_values)
    return json.dumps(activity).encode()


def forged_tokens(tokens: FakeBotTokens, service_url: str) -> list[str]:
    """Tokens the Bot Framework never issued; some pass every check but the signature's."""
    attacker = private_key("attacker")
    forge = tokens.forge
    return [
        forge(app_id=APP_ID, service_url=service_url, key=attacker),
        forge(
            app_id=APP_ID,
            service_url=service_url,
            key=attacker,
            iss=EMULATOR_ISSUER,
            ver="1.0",
            appid=APP_ID,
        ),
        forge(app_id=APP_ID, service_url=service_url, key_id="unknown-key"),
        forge(app_id=APP_ID, service_url=service_url, exp=1_700_000_000),
        forge(app_id="another-bot", service_url=service_url),
        forge(app_id=APP_ID, service_url="https://smba.trafficmanager.net/amer/"),
        forge(app_id=APP_ID, service_url=service_url, algorithm="none"),
        forge(
            app_id=APP_ID,
            service_url=service_url,
            algorithm="HS256",
            key="a shared secret, long enough for HS256",
        ),
    ]


def b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@st.composite
def unsigned_tokens(draw: st.DrawFn) -> str:
    """A token shaped like the Bot Framework's, its header and claims partly hostile, its
    signature made up: the shape check reads the claims, only the SDK can refuse some."""
    head = draw(
        st.fixed_dictionaries({"alg": st.just("RS256") | json_values, "kid": st.just(KEY_ID)})
    )
    claims = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "iss": st.sampled_from([ISSUER, EMULATOR_ISSUER]) | json_values,
                "aud": st.just(APP_ID) | json_values,
                "appid": st.just(APP_ID) | json_values,
                "exp": st.integers() | st.floats() | json_values,
                "nbf": st.integers() | json_values,
                "serviceurl": json_values,
                "ver": st.sampled_from(["1.0", "2.0"]) | json_values,
            },
        )
    )
    signature = draw(st.binary(min_size=2, max_size=300))
    return f"{b64(head)}.{b64(claims)}.{b64(signature)}"


@st.composite
def headers(draw: st.DrawFn, forged: list[str]) -> tuple[CIMultiDict[str], bool]:
    """Headers, and whether the client should leave out its own Content-Type."""
    sent: CIMultiDict[str] = CIMultiDict()
    authorization = draw(
        st.one_of(
            st.none(),
            header_text,
            header_text.map(lambda t: "Bearer " + t),
            st.sampled_from(forged).map(lambda t: "Bearer " + t),
            st.sampled_from(forged),
            unsigned_tokens().map(lambda t: "Bearer " + t),
        )
    )
    if authorization is not None:
        sent.add("Authorization", authorization)
    content_type = draw(content_types)
    if content_type is not None:
        sent.add("Content-Type", content_type)
    for name, value in draw(extra_headers):
        sent.add(name, value)
    return sent, "Content-Type" not in sent


@pytest.fixture
def config() -> CrierConfig:
    return teams_config()


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    async with FakeBotConnector() as fake:
        yield fake


@pytest.fixture
async def tokens(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeBotTokens]:
    async with FakeBotTokens() as fake:
        fake.point_sdk_here(monkeypatch)
        yield fake


@pytest.fixture(params=["unauthenticated", "MicrosoftAppId"])
async def teams(
    request: pytest.FixtureRequest,
    store: Store,
    config: CrierConfig,
    connector: FakeBotConnector,
    tokens: FakeBotTokens,
) -> AsyncIterator[TeamsHarness]:
    settings = (
        teams_settings()
        if request.param == "unauthenticated"
        else teams_settings(
            MicrosoftAppId=APP_ID,
            MicrosoftAppPassword="not-a-secret",
            CRIER_TEAMS_UNAUTHENTICATED=False,
        )
    )
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_teams(
            store=store, config=config, connector=connector, http=http, settings=settings
        )
        try:
            yield harness
        finally:
            await runner.cleanup()


@PROPERTY
@given(data=st.data())
async def test_any_body_and_headers_get_no_5xx_no_traceback_and_write_nothing(
    teams: TeamsHarness,
    connector: FakeBotConnector,
    tokens: FakeBotTokens,
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    caplog.clear()
    caplog.set_level(logging.INFO)
    authenticated = teams.crier.teams is not None and teams.crier.teams.chat.authenticated
    base = teams._activity(ANALYST, "19:x", type="message", text="help")
    body = data.draw(bodies(base), label="body")
    sent, no_content_type = data.draw(
        headers(forged_tokens(tokens, connector.service_url)), label="headers"
    )
    before = rows(teams.crier.core.store)
    calls = len(connector.calls)

    skip = ["Content-Type"] if no_content_type else []
    async with teams.http.post(teams.url, data=body, headers=sent, skip_auto_headers=skip) as r:
        status, answer = r.status, await r.text()
    await teams.settle()

    event(f"answered {status}: {reason(answer)}")
    assert status < 500, answer
    assert not troubles(caplog.records)
    after = rows(teams.crier.core.store)
    if status == 202:  # a message taken (only from this machine, unauthenticated): queued
        assert after.pop("job") == before.pop("job") + 1
    assert after == before
    if authenticated:
        assert status in {400, 401, 413, 415, 417}, answer  # 417: aiohttp, an unknown Expect
        assert len(connector.calls) == calls  # nothing reached the bot


ACTIVITY_TYPES = [
    "message",
    "invoke",
    "conversationUpdate",
    "installationUpdate",
    "messageReaction",
    "messageUpdate",
    "messageDelete",
    "event",
    "typing",
    "endOfConversation",
]
# Every verb but the declaration's: with no incident in the database, each refers to nothing.
VERBS = [verb.value for verb in Verb if verb is not Verb.DECLARE]
KEYS = [*(f.value for f in Field), *(d.value for d in Data), "text_x", "text_mastodon"]


@st.composite
def activities(draw: st.DrawFn, base: JsonDict) -> JsonDict:
    """Activities the SDK can read, of every kind, with what Crier reads in them made hostile."""
    kinds = st.sampled_from(["message", "invoke"]) | st.sampled_from(ACTIVITY_TYPES)
    activity = {**base, "type": draw(kinds | st.text(min_size=1, max_size=20))}
    event(f"type: {activity['type'] if activity['type'] in ACTIVITY_TYPES else 'other'}")
    if activity["type"] == "invoke":
        card_action = st.just("adaptiveCard/action")
        activity["name"] = draw(card_action | st.sampled_from(["task/fetch", ""]) | st.text())
        data = draw(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), json_values))
        action = {"type": "Action.Execute", "verb": draw(st.sampled_from(VERBS)), "data": data}
        activity["value"] = draw(
            st.one_of(
                st.just({"action": action, "trigger": "manual"}),
                st.builds(lambda v: {"action": v}, json_values),
                json_values,
            )
        )
        activity["replyToId"] = draw(st.none() | st.text(max_size=12))
    else:
        activity["text"] = draw(
            st.one_of(
                st.sampled_from(["help", "list", "update", "resolve", "outage", ""]),
                st.text(max_size=60),
                st.builds(lambda t: f"<at>Crier</at> {t}", st.text(max_size=40)),
            )
        )
    for name in draw(st.lists(st.sampled_from(["from", "recipient", "conversation"]), max_size=2)):
        account = dict(activity[name])
        account[draw(st.sampled_from(["id", "name", "aadObjectId", "role"]))] = draw(
            st.none() | st.text(max_size=12)
        )
        activity[name] = account
    if draw(st.booleans()):
        activity["entities"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {"type": st.sampled_from(["mention", "clientInfo"]) | st.text(max_size=8)},
                    optional={"text": json_values, "mentioned": json_values},
                ),
                max_size=3,
            )
        )
    if draw(st.booleans()):
        activity["channelData"] = draw(json_values)
    return activity


@pytest.fixture
async def unauthenticated(
    store: Store, config: CrierConfig, connector: FakeBotConnector
) -> AsyncIterator[TeamsHarness]:
    async with aiohttp.ClientSession() as http:
        harness, runner = await start_teams(
            store=store, config=config, connector=connector, http=http
        )
        try:
            yield harness
        finally:
            await runner.cleanup()


@PROPERTY
@given(data=st.data())
async def test_any_activity_the_sdk_can_read_is_answered_without_error_and_writes_nothing(
    unauthenticated: TeamsHarness, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    """Unauthenticated, where every activity reaches the bot."""
    teams = unauthenticated
    caplog.clear()
    caplog.set_level(logging.INFO)
    base = teams._activity(ANALYST, "19:x", type="message", text="help")
    activity = data.draw(activities(base), label="activity")
    before = rows(teams.crier.core.store)

    status, answer = await teams.post(activity)
    await teams.settle()

    event(f"answered {status}")
    assert status < 500, answer
    assert not troubles(caplog.records)
    after = rows(teams.crier.core.store)
    if status == 202:  # a message: queued as a job, then answered
        assert after.pop("job") == before.pop("job") + 1
    # A refusal is audited (an outsider pressing Approve, say); nothing else is written.
    assert {**after, "auditevent": 0} == {**before, "auditevent": 0}
    for audited in audit_since(teams.crier.core.store, before["auditevent"]):
        assert audited.endswith("_refused"), audited


def reason(answer: str) -> str:
    """Why Crier refused (its JSON's "error"), for the statistics."""
    try:
        said = json.loads(answer)
    except ValueError:
        return "(not Crier's answer)"
    return str(said.get("error", "")) if isinstance(said, dict) else ""


def audit_since(store: Store, seen: int) -> list[str]:
    with store.transaction() as session:
        actions = session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    return list(actions[seen:])
