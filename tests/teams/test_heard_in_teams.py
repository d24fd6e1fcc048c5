"""Story: what people answer on the networks reaches Teams. New replies to an incident's posts
land in its conversation, the public's words in TextRuns (never markdown, never a mention); a
burst is summed up with its angriest three; a surge of mentions lands where notices go with
*Declare outage*, which brings the declare form with the service chosen (or, with an incident
open, in that incident's conversation)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.listening.views import HeardBatch
from bot.storage.models import Incident
from handlers.teams.forms import declare_form
from handlers.teams.heard_card import heard_card
from tests.conftest import make_config
from tests.fakes.bot_connector import ConnectorCall, FakeBotConnector
from tests.heard_rows import (
    CALM,
    LONG_NAME,
    LONG_TEXT,
    PINGING,
    SURGE,
    burst,
    hear_replies,
    hear_surge,
    heard_rows,
    latest_incident,
    reply_as_shown,
)
from tests.teams.card_schema import check_card
from tests.teams.harness import ANALYST, CHANNEL, THREAD, JsonDict, TeamsHarness, find_action, texts

ELSEWHERE = f"{CHANNEL};messageid=1700000000077"  # another thread of the channel


def elements(node: Any, kind: str) -> list[JsonDict]:
    """The card's elements of this type, in the order the card shows them."""
    found: list[JsonDict] = []
    if isinstance(node, dict):
        if node.get("type") == kind:
            found.append(node)
        for value in node.values():
            found += elements(value, kind)
    elif isinstance(node, list):
        for value in node:
            found += elements(value, kind)
    return found


def runs(card: JsonDict) -> list[str]:
    """What the card shows as written (TextRuns), in order."""
    return [str(r["text"]) for r in elements(card, "TextRun")]


def as_written(posted: ConnectorCall) -> None:
    """Teams reads markdown in TextBlocks and mentions in the activity: the public's words are
    in neither."""
    for block in elements(posted.cards[0], "TextBlock"):
        for piece in ("<!channel>", "<@U123>", "*terrible*", "Example*", "<!here>"):
            assert piece not in block["text"], block
    assert not posted.activity.get("entities") and not posted.activity.get("text")


async def declared(teams: TeamsHarness, connector: FakeBotConnector, **where: str) -> int:
    count = len(connector.posts())
    said = "outage Blackboard: students cannot log in"
    assert await teams.say(said, user=ANALYST, **where) == 202
    await connector.wait_for_posts(count + 2)
    await teams.settle()
    return latest_incident(teams.crier.core.store)


async def test_new_replies_reach_the_conversation_as_written(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    incident_id = await declared(teams, connector)
    long_reply = "Still down. " + "ü" * 5000  # not ASCII: more bytes than characters
    before = len(connector.posts())

    views = await hear_replies(
        teams.crier.core, [PINGING, CALM, long_reply], incident_id=incident_id
    )

    (posted,) = connector.posts()[before:]
    assert posted.conversation_id == THREAD
    card = posted.cards[0]
    shown = runs(card)
    assert PINGING in shown and CALM in shown
    (cut,) = [r for r in shown if r.startswith("Still down.")]
    assert cut.endswith("more characters)") and len(cut) < len(long_reply)
    assert (
        "🔴 negative · Mastodon · Ann <!here> *Example* (@ann@mastodon.social) · 2:45 PM EST"
        in (shown)
    )
    assert any(r.startswith("🟢 positive") for r in shown)
    links = [a["url"] for a in elements(card, "Action.OpenUrl")]
    assert links == [v.url for v in views]  # the long one's too: it is whole on the network
    assert "3 new replies to incident" in texts(card)
    replies = [(a["title"], a["data"]) for a in elements(card, "Action.Execute")]
    assert replies == [("Reply", {"heardId": v.id}) for v in views]
    as_written(posted)


async def test_a_burst_shows_its_summary_and_the_angriest_three(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    incident_id = await declared(teams, connector)
    said = [PINGING, "This is awful, Duo prompt never comes", "Duo prompt broken, terrible"]
    said += [f"Duo prompt works now {n}, thanks" for n in range(9)]
    views = heard_rows(teams.crier.core.store, said, incident_id=incident_id)
    before = len(connector.posts())

    await teams.crier.core.chat.heard(burst(incident_id, views))

    (posted,) = connector.posts()[before:]
    card = posted.cards[0]
    shown = runs(card)
    assert shown[0] == "12 new replies, mostly about “Duo prompt” (Mastodon 12)"
    assert "25 % of them negative" in texts(card) and "The angriest of them:" in texts(card)
    replies = [r for r in shown if r in said]
    assert len(replies) == 3 and PINGING in replies
    assert not any("works now" in r for r in replies)
    as_written(posted)


async def test_a_surge_without_an_incident_brings_the_declare_form(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    await declared(teams, connector)  # Teams may write unasked only where an incident was
    store = teams.crier.core.store
    before = len(connector.posts())

    await hear_surge(teams.crier.core, [PINGING, "eduroam keeps dropping"], service="Wi-Fi")

    (posted,) = connector.posts()[before:]
    assert posted.conversation_id == THREAD  # where notices go: the latest incident's
    assert SURGE in runs(posted.cards[0]) and PINGING in runs(posted.cards[0])
    as_written(posted)
    answer = await teams.invoke(posted.id, "Declare outage", user=ANALYST)
    assert answer["type"] == "application/vnd.microsoft.activity.message", answer
    assert connector.card(posted.id) == posted.cards[0]  # the surge stays as it was
    (form_message,) = connector.posts()[before + 1 :]
    form = form_message.cards[0]
    (service,) = [c for c in elements(form, "Input.ChoiceSet") if c["id"] == "service"]
    assert service["value"] == "Wi-Fi"
    with store.transaction() as session:
        assert len(session.exec(select(Incident)).all()) == 1  # nothing declared by the click

    inputs = {"service": "Wi-Fi", "summary": "eduroam keeps dropping"}  # as the form sends them
    card = await teams.click(form_message.id, "Draft posts", user=ANALYST, card=form, inputs=inputs)
    assert "Wi-Fi: eduroam keeps dropping" in texts(card)
    with store.transaction() as session:
        services = [i.service for i in session.exec(select(Incident)).all()]
    assert services == ["Blackboard", "Wi-Fi"]


async def test_a_surge_with_an_open_incident_goes_to_its_conversation(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    first = await declared(teams, connector)
    await declared(teams, connector, conversation=ELSEWHERE)  # now the latest conversation
    sentence = SURGE.replace("Wi-Fi", "Blackboard")
    before = len(connector.posts())

    await hear_surge(
        teams.crier.core, [PINGING], service="Blackboard", incident_id=first, sentence=sentence
    )

    (posted,) = connector.posts()[before:]
    assert posted.conversation_id == THREAD
    card = posted.cards[0]
    assert sentence in runs(card)
    assert f"Incident #{first} is open for Blackboard: keep its posts current." in runs(card)
    # Only *Reply* on the example: no *Declare outage* (the incident is open).
    assert [a["title"] for a in elements(card, "Action.Execute")] == ["Reply"]
    find_action(card, "Open on Mastodon")
    as_written(posted)


def test_fifty_long_replies_fit_in_one_card() -> None:
    """A batch as large as ``listening.burst`` allows, each reply long and not ASCII (several
    bytes a character): within what Teams takes in one message."""
    view = reply_as_shown(author_name=LONG_NAME, text=LONG_TEXT)
    card = heard_card(HeardBatch(1, 50, (view,) * 50), zone=ZoneInfo("America/New_York"))
    check_card(card)
    assert "…and 35 more, not shown here." in texts(card)


def test_a_service_the_catalog_does_not_list_is_chosen_as_other() -> None:
    form = declare_form(make_config(), service="Zoom")
    inputs = {e["id"]: e for e in elements(form, "Input.ChoiceSet") + elements(form, "Input.Text")}
    assert inputs["service"]["value"] == "__other__"
    assert inputs["other_service"]["value"] == "Zoom"
    check_card(form)
