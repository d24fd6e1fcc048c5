"""Story: someone answers, in public, a reply Crier heard to an incident's post (or a mention of
no incident, from a surge's card where notices go), in Teams. *Reply*
on the replies' card brings the form for the clicker alone (the reply as written, the network's
rule on the input); words the network would refuse bring the form again with the problem. The
answer waits in the incident's conversation as one card for an approver who did not write it:
its author's *Approve* is refused (to the clicker), and so is an approval of words edited since;
the right approval sends it (to the outbox, without credentials) and the same card says who
approved it and where it is. The public's words and the answer are TextRuns: never markdown,
never a mention."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from functools import partial
from zoneinfo import ZoneInfo

import pytest

from bot.config import CrierConfig
from bot.listening.views import HeardView
from bot.storage.models import DeliveryState
from bot.storage.store import Store
from handlers.teams.anchors import People
from handlers.teams.answer_card import answer_card
from handlers.teams.ids import Verb
from tests.fakes.bot_connector import ConnectorCall, FakeBotConnector
from tests.fakes.networks.mastodon import FakeMastodon
from tests.heard_rows import (
    ANSWER,
    EDITED,
    PINGING,
    SURGE,
    answer_deliveries,
    hear_replies,
    hear_surge,
    largest_answer,
    the_answer,
)
from tests.listening_setup import on_mastodon
from tests.teams.card_schema import check_card
from tests.teams.harness import (
    ANALYST,
    APPROVER,
    APPROVER_2,
    OUTSIDER,
    THREAD,
    JsonDict,
    TeamsHarness,
    find_action,
    start_teams,
    texts,
)
from tests.teams.test_heard_in_teams import as_written, declared, elements, runs


@pytest.fixture
async def teams_on_mastodon(
    store: Store, config: CrierConfig, connector: FakeBotConnector
) -> AsyncIterator[tuple[TeamsHarness, FakeMastodon]]:
    """The Teams harness publishing to a fake Mastodon instance over HTTP (not the outbox)."""
    start = partial(start_teams, store=store, connector=connector)
    async with on_mastodon(start, config) as (teams, mastodon):
        yield teams, mastodon
        await teams.settle()
        teams.cards_are_valid()


async def heard_in_conversation(
    teams: TeamsHarness, connector: FakeBotConnector
) -> tuple[HeardView, ConnectorCall]:
    """A published incident, and a reply to it shown in its conversation."""
    incident_id = await declared(teams, connector)
    posts = len(connector.posts())
    await teams.click(teams.draft_ids()[0], "Approve & publish", user=APPROVER)
    await connector.wait_for_posts(posts + 1)  # the outcome: its first post is out (the outbox)
    await teams.settle()
    before = len(connector.posts())
    (heard,) = await hear_replies(teams.crier.core, [PINGING], incident_id=incident_id)
    (posted,) = connector.posts()[before:]
    return heard, posted


def answer_cards(connector: FakeBotConnector) -> list[ConnectorCall]:
    return [c for c in connector.posts() if c.cards and "↩️ Answer to" in texts(c.cards[0])]


def inputs_of(card: JsonDict) -> dict[str, JsonDict]:
    return {e["id"]: e for e in elements(card, "Input.Text")}


async def test_an_answer_is_drafted_approved_once_and_shown_sent(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    heard, posted = await heard_in_conversation(teams, connector)
    store = teams.crier.core.store

    form = await teams.click(posted.id, "Reply", user=APPROVER)
    assert connector.card(posted.id) == posted.cards[0]  # the replies' card stays for everyone
    field = inputs_of(form)["answer"]
    assert field["label"] == "Your answer (Mastodon: up to 500 characters)"
    assert field["isMultiline"] and field["isRequired"]
    assert PINGING in runs(form)

    again = await teams.click(
        posted.id, "Save answer", user=APPROVER, card=form, inputs={"answer": "x" * 600}
    )
    assert "600/500" in texts(again) and inputs_of(again)["answer"]["value"] == "x" * 600
    again = await teams.click(
        posted.id, "Save answer", user=APPROVER, card=form, inputs={"answer": "  "}
    )
    assert "This is required." in runs(again)
    before = len(connector.posts())
    saved = await teams.click(
        posted.id, "Save answer", user=APPROVER, card=form, inputs={"answer": ANSWER}
    )
    assert "Your answer waits for an approver" in texts(saved) and PINGING in runs(saved)
    await connector.wait_for_posts(before + 1)
    await teams.settle()

    (waiting,) = answer_cards(connector)
    card = connector.card(waiting.id)
    shown = runs(card)
    assert "↩️ Answer to Ann <!here> *Example* (@ann@mastodon.social) on Mastodon" in shown
    assert PINGING in shown and ANSWER in shown  # as written: Teams has no such markup
    assert f"{len(ANSWER)}/500 characters" in shown
    assert "Alex Approver" in shown  # who drafted it
    find_action(card, "Their reply on Mastodon")
    as_written(waiting)
    first = copy.deepcopy(card)

    refused = await teams.click(waiting.id, "Approve", user=APPROVER)  # its author
    assert "You wrote this answer" in texts(refused) and "Approve" in texts(refused)
    refused = await teams.click(waiting.id, "Approve", user=ANALYST)
    assert "Only approvers can approve a public answer" in texts(refused)
    assert connector.card(waiting.id) == first  # refusals went to the clicker alone

    edit = await teams.click(waiting.id, "Edit", user=ANALYST)
    assert inputs_of(edit)["answer"]["value"] == ANSWER
    edited = await teams.click(
        waiting.id, "Save revision", user=ANALYST, card=edit, inputs={"answer": EDITED}
    )
    assert EDITED in runs(edited) and "Revision 2" in texts(edited)
    await teams.settle()
    assert EDITED in runs(connector.card(waiting.id))  # the same card, for everyone
    assert "Ana Lyst" in runs(connector.card(waiting.id))

    old = await teams.click(waiting.id, "Approve", user=APPROVER_2, card=first)  # revision 1's
    assert "edited after you saw it" in texts(old)
    assert not answer_deliveries(store)

    approved = await teams.click(waiting.id, "Approve", user=APPROVER_2)
    assert "Approved by" in texts(approved) and "Sam Second" in runs(approved)
    while await teams.crier.core.publishing.run_once():  # no credentials: the outbox
        pass
    await teams.settle()

    answer, delivery = the_answer(store)
    assert answer.state == "approved" and delivery.state == DeliveryState.SENT
    assert len(answer_cards(connector)) == 1  # one card, replaced
    done = connector.card(waiting.id)
    assert "Sam Second" in runs(done) and "Mastodon — ✅ sent" in runs(done)
    assert find_action(done, "Open on Mastodon")["url"] == delivery.url
    assert not elements(done, "Action.Execute")  # nothing left to decide
    assert heard.id == answer.heard_id


async def test_a_mention_in_a_surge_is_answered_where_notices_go(
    teams_on_mastodon: tuple[TeamsHarness, FakeMastodon], connector: FakeBotConnector
) -> None:
    """No incident is open for Wi-Fi: the surge's card goes where notices go (the latest
    incident's conversation); *Reply* on its example drafts an answer shown there as one card,
    replaced through approval; it goes out on Mastodon once, as a reply to that mention."""
    teams, mastodon = teams_on_mastodon
    await declared(teams, connector)  # Teams may write unasked only where an incident was
    store = teams.crier.core.store
    said = mastodon.mention("eduroam is down again, is the VPN too?", author="ann@mastodon.social")
    before = len(connector.posts())
    (mention,) = await hear_surge(
        teams.crier.core, [PINGING], service="Wi-Fi", external_ids=[said["id"]]
    )
    (posted,) = connector.posts()[before:]
    assert posted.conversation_id == THREAD and SURGE in runs(posted.cards[0])
    reply = find_action(posted.cards[0], "Reply")  # as on a reply in an incident's conversation
    assert (reply["verb"], reply["data"]) == (Verb.HEARD_REPLY_FORM, {"heardId": mention.id})

    form = await teams.click(posted.id, "Reply", user=APPROVER)
    assert PINGING in runs(form) and "answer" in inputs_of(form)
    before = len(connector.posts())
    saved = await teams.click(
        posted.id, "Save answer", user=APPROVER, card=form, inputs={"answer": EDITED}
    )
    assert "Your answer waits for an approver" in texts(saved)
    await connector.wait_for_posts(before + 1)
    await teams.settle()

    (waiting,) = answer_cards(connector)
    assert waiting.conversation_id == THREAD  # where notices (and the surge) go
    card = connector.card(waiting.id)
    assert EDITED in runs(card) and PINGING in runs(card)
    first = copy.deepcopy(card)
    refused = await teams.click(waiting.id, "Approve", user=APPROVER)  # its author
    assert "You wrote this answer" in texts(refused)
    assert connector.card(waiting.id) == first  # the refusal went to the clicker alone
    assert not answer_deliveries(store)

    approved = await teams.click(waiting.id, "Approve", user=APPROVER_2)
    assert "Approved by" in texts(approved)
    while await teams.crier.core.publishing.run_once():
        pass
    await teams.settle()

    (sent,) = [s for s in mastodon.posted if s.get("in_reply_to_id") == said["id"]]
    assert sent["account"]["acct"] == "it" and sent["text"] == EDITED
    answer, delivery = the_answer(store)
    assert answer.incident_id is None and answer.heard_id == mention.id
    assert delivery.state == DeliveryState.SENT and delivery.url == sent["url"]
    assert len(answer_cards(connector)) == 1  # one card, replaced
    done = connector.card(waiting.id)
    assert "Approved by" in texts(done) and "Mastodon — ✅ sent" in runs(done)
    assert find_action(done, "Open on Mastodon")["url"] == delivery.url
    assert not elements(done, "Action.Execute")


async def test_a_surge_in_an_incident_conversation_offers_reply(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    incident_id = await declared(teams, connector)
    before = len(connector.posts())
    await hear_surge(teams.crier.core, [PINGING], service="Blackboard", incident_id=incident_id)
    (posted,) = connector.posts()[before:]
    form = await teams.click(posted.id, "Reply", user=ANALYST)
    assert PINGING in runs(form) and "answer" in inputs_of(form)


async def test_an_answer_rejected_says_why_and_who(
    teams: TeamsHarness, connector: FakeBotConnector
) -> None:
    _, posted = await heard_in_conversation(teams, connector)
    form = await teams.click(posted.id, "Reply", user=ANALYST)
    await teams.click(posted.id, "Save answer", user=ANALYST, card=form, inputs={"answer": EDITED})
    await teams.settle()
    (waiting,) = answer_cards(connector)
    pending = connector.card(waiting.id)

    refused = await teams.click(waiting.id, "Reject", user=OUTSIDER)
    assert "Only approvers can reject" in texts(refused)
    assert not inputs_of(refused)  # no form for a refusal

    reject = await teams.click(waiting.id, "Reject", user=APPROVER)
    reason = "Too curt *please*: say when it is back"
    rejected = await teams.click(
        waiting.id, "Reject", user=APPROVER, card=reject, inputs={"reason": reason}
    )
    assert "🚫 Rejected by " in runs(rejected) and reason in runs(rejected)
    await teams.settle()
    everyone = connector.card(waiting.id)
    assert "Alex Approver" in runs(everyone) and reason in runs(everyone)
    assert not elements(everyone, "Action.Execute")
    late = await teams.click(waiting.id, "Edit", user=ANALYST, card=pending)  # its old button
    assert "only a waiting answer can be edited" in texts(late)


async def test_cancel_and_a_reply_gone(teams: TeamsHarness, connector: FakeBotConnector) -> None:
    heard, posted = await heard_in_conversation(teams, connector)
    form = await teams.click(posted.id, "Reply", user=ANALYST)
    back = await teams.click(posted.id, "Cancel", user=ANALYST, card=form)
    assert PINGING in runs(back) and find_action(back, "Reply")["data"] == {"heardId": heard.id}

    gone = copy.deepcopy(form)
    find_action(gone, "Save answer")["data"]["heardId"] = 999_999
    said = await teams.click(
        posted.id, "Save answer", user=ANALYST, card=gone, inputs={"answer": "x"}
    )
    assert "Crier heard nothing numbered #999999." in texts(said)
    assert not answer_cards(connector)


def test_the_largest_answer_fits_on_one_card() -> None:
    zone = ZoneInfo("America/New_York")
    check_card(answer_card(largest_answer(), zone=zone, people=People(), message="x" * 2000))
