"""Story (issue 20) in Teams, against a fake Mastodon instance over HTTP with Crier's real publisher
and reading side: a surge of angry mentions of eduroam reaches where notices go as one card with
*Declare outage*, the service filled in; the analyst declares from it, an approver publishes;
a reply to the post reaches the incident's conversation once; *Reply* beside it drafts an
answer, which its author may not approve and another approver does; it goes out on Mastodon
once, as a reply to that person. The test runs the polls on its own clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import pytest

from bot.config import CrierConfig
from bot.storage.store import Store
from tests.clock import FakeClock
from tests.fakes.bot_connector import ConnectorCall, FakeBotConnector
from tests.fakes.networks.mastodon import FakeMastodon
from tests.heard_rows import latest_incident
from tests.listening_setup import listening_story, surge_of_mentions
from tests.teams.harness import (
    ANALYST,
    APPROVER,
    APPROVER_2,
    THREAD,
    TeamsHarness,
    find_action,
    start_teams,
    texts,
)
from tests.teams.test_heard_in_teams import declared, elements, runs

ASKED = "Is the VPN down too?"
ANSWER = "No, only eduroam is down."


@pytest.fixture
async def story(
    store: Store, config: CrierConfig, connector: FakeBotConnector
) -> AsyncIterator[tuple[TeamsHarness, FakeMastodon, FakeClock]]:
    start = partial(start_teams, store=store, connector=connector)
    async with listening_story(start, config) as (teams, mastodon, clock):
        yield teams, mastodon, clock
        await teams.settle()
        teams.cards_are_valid()  # every card Crier sent or answered with


async def run(teams: TeamsHarness, clock: FakeClock, **delta: float) -> None:
    """Move the clock; run the polls, the publishing and the chat updates that came due."""
    clock.advance(**delta)
    core = teams.crier.core
    while await core.scheduler.run_once():
        pass
    await teams.settle()


def cards_saying(connector: FakeBotConnector, words: str) -> list[ConnectorCall]:
    """The cards posted in the conversation whose own words (TextRuns) include ``words``."""
    return [
        c
        for c in connector.posts(THREAD)
        if c.cards and any(words in r for r in runs(connector.card(c.id)))
    ]


def replies_shown(connector: FakeBotConnector) -> list[ConnectorCall]:
    """The cards showing the question asked with *Reply* beside it (the answer's card shows it
    too, without)."""
    return [
        c
        for c in cards_saying(connector, ASKED)
        if any(a["title"] == "Reply" for a in elements(c.cards[0], "Action.Execute"))
    ]


async def test_a_surge_becomes_an_incident_whose_replies_are_answered_once(
    story: tuple[TeamsHarness, FakeMastodon, FakeClock], connector: FakeBotConnector
) -> None:
    teams, mastodon, clock = story
    # Teams lets Crier write unasked only where an incident was declared: an earlier one, of
    # another service (its posts never approved), makes that conversation where notices go.
    await declared(teams, connector)
    await run(teams, clock)  # the first look: nobody has said anything
    surge_of_mentions(mastodon, clock)
    await run(teams, clock, minutes=3)
    [alert] = cards_saying(connector, "Mentions of Wi-Fi")
    assert "14 posts" in texts(alert.cards[0])
    declare = find_action(alert.cards[0], "Declare outage")
    assert declare["data"]["declareService"] == "Wi-Fi"
    await run(teams, clock, minutes=3)  # the same surge, a poll later: no second card
    assert len(cards_saying(connector, "Mentions of")) == 1

    before = len(connector.posts())
    opened = await teams.invoke(alert.id, "Declare outage", user=ANALYST)
    assert opened["type"] == "application/vnd.microsoft.activity.message", opened
    (form_message,) = connector.posts()[before:]
    form = form_message.cards[0]
    (service,) = [c for c in elements(form, "Input.ChoiceSet") if c["id"] == "service"]
    assert service["value"] == "Wi-Fi"
    inputs = {"service": "Wi-Fi", "summary": "eduroam keeps dropping", "channels": "mastodon"}
    card = await teams.click(form_message.id, "Draft posts", user=ANALYST, card=form, inputs=inputs)
    assert "Wi-Fi: eduroam keeps dropping" in texts(card)
    await run(teams, clock)
    draft = teams.draft_ids()[-1]
    assert "eduroam keeps dropping" in texts(connector.card(draft))
    await teams.click(draft, "Approve & publish", user=APPROVER)
    await run(teams, clock)
    [post] = [s for s in mastodon.posted if s["account"]["acct"] == "it"]  # Crier's own
    assert "eduroam keeps dropping" in post["text"]

    asked = mastodon.add_reply(str(post["id"]), ASKED, author="ann")
    await run(teams, clock, minutes=3)
    await run(teams, clock, minutes=3)  # read again: shown once
    [heard] = replies_shown(connector)
    assert heard.conversation_id == THREAD  # the incident's conversation
    incident_id = latest_incident(teams.crier.core.store)
    assert f"1 new reply to incident #{incident_id}'s posts" in texts(heard.cards[0])

    form = await teams.click(heard.id, "Reply", user=APPROVER)
    saved = await teams.click(
        heard.id, "Save answer", user=APPROVER, card=form, inputs={"answer": ANSWER}
    )
    assert "Your answer waits for an approver" in texts(saved)
    await run(teams, clock)
    [waiting] = cards_saying(connector, "↩️ Answer to")
    pending = connector.card(waiting.id)
    assert ANSWER in runs(pending) and "Alex Approver" in runs(pending)  # who drafted it

    refused = await teams.click(waiting.id, "Approve", user=APPROVER)  # its author
    said = texts(refused)
    assert "You wrote this answer" in said and "another approver" in said
    await run(teams, clock)
    assert connector.card(waiting.id) == pending  # refused to the clicker alone
    assert not [s for s in mastodon.posted if s.get("in_reply_to_id") == asked["id"]]

    approved = await teams.click(waiting.id, "Approve", user=APPROVER_2)
    assert "Approved by" in texts(approved) and "Sam Second" in runs(approved)
    await run(teams, clock)
    await run(teams, clock, minutes=3)  # a poll after: Crier's own answer is not news
    answers = [s for s in mastodon.posted if s.get("in_reply_to_id") == asked["id"]]
    assert [(a["account"]["acct"], a["text"]) for a in answers] == [("it", ANSWER)]
    assert len(cards_saying(connector, "↩️ Answer to")) == 1  # one card, replaced
    shown = connector.card(waiting.id)
    assert "Sam Second" in runs(shown) and "Mastodon — ✅ sent" in runs(shown)
    assert find_action(shown, "Open on Mastodon")["url"] == answers[0]["url"]
    assert len(replies_shown(connector)) == 1
    assert len(cards_saying(connector, "Mentions of")) == 1  # the surge, still only once
