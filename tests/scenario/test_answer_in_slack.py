"""Story: someone answers, in public, a reply Crier heard to an incident's post (or a mention of
no incident, from a surge's alert in the comms channel). *Reply* beside
the reply opens a form (the reply as written, the network's rule on the input); words the
network would refuse come back on the field. The answer waits in the incident's thread as one
message for an approver who did not write it: its author's *Approve* is refused, and so is an
approval of words edited since; the right approval sends it (to the outbox, without
credentials) and the same message says who approved it and where it is. Nothing the public or
the answer says pings anyone."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from functools import partial
from zoneinfo import ZoneInfo

import pytest

from bot.config import CrierConfig
from bot.listening.views import HeardView, SpikeAlert
from bot.storage.models import DeliveryState
from bot.storage.store import Store
from handlers.slack.answer_message import answer_message
from handlers.slack.ids import Action, View
from tests.conftest import ANALYST, APPROVER, APPROVER_2, COMMS, OUTSIDER
from tests.fakes import slack_requests as req
from tests.fakes.networks.mastodon import FakeMastodon
from tests.fakes.slack import SlackWorkspace
from tests.heard_rows import (
    ANSWER,
    EDITED,
    PINGING,
    SURGE,
    answer_deliveries,
    hear_replies,
    hear_surge,
    heard_rows,
    largest_answer,
    latest_incident,
    the_answer,
)
from tests.listening_setup import on_mastodon
from tests.scenario.harness import (
    JsonDict,
    SlackHarness,
    as_text,
    check_blocks,
    ephemeral_texts,
    start_harness,
)
from tests.scenario.test_heard_in_slack import plain_texts, text_objects
from tests.scenario.test_revise_and_resolve import approve, declare, open_from


@pytest.fixture
async def slack_on_mastodon(
    store: Store, config: CrierConfig, workspace: SlackWorkspace
) -> AsyncIterator[tuple[SlackHarness, FakeMastodon]]:
    """The Slack harness publishing to a fake Mastodon instance over HTTP (not the outbox)."""
    start = partial(start_harness, store=store, workspace=workspace)
    async with on_mastodon(start, config) as (slack, mastodon):
        yield slack, mastodon
        slack.sent_blocks_are_valid()


async def heard_in_thread(slack: SlackHarness) -> tuple[HeardView, JsonDict]:
    """A published incident, and a reply to it shown in its thread."""
    draft = await declare(slack)
    await approve(slack, draft, messages_after=3)  # its first post is out (the outbox)
    incident_id = latest_incident(slack.crier.core.store)
    (heard,) = await hear_replies(slack.crier.core, [PINGING], incident_id=incident_id)
    return heard, slack.thread()[-1]


async def click_reply(
    slack: SlackHarness, message: JsonDict, *, user: str, heard: int | None = None
) -> JsonDict:
    """*Reply* beside the reply (a section's accessory; ``heard``: beside that one, of several);
    returns the form Crier opened."""
    (block,) = [
        b
        for b in message["blocks"]
        if b.get("accessory") and heard in (None, int(b["accessory"]["value"]))
    ]
    button = block["accessory"]
    opened = len(slack.workspace.calls_to("views.open"))
    body = req.block_action(
        action_id=button["action_id"],
        value=button["value"],
        block_id=block.get("block_id", "reply"),
        user_id=user,
        channel_id=COMMS,
        message_ts=message["ts"],
        thread_ts=message.get("thread_ts"),
        message=message,
        response_url=slack.workspace.new_response_url(),
    )
    status, _ = await slack.post(body)
    assert status == 200
    return await slack.open_modal(count=opened + 1)


def answers_in(slack: SlackHarness) -> list[JsonDict]:
    return [m for m in slack.thread() if "Answer to" in plain_texts(m)]


def staff_only(message: JsonDict) -> None:
    """What Slack reads as markup names only staff (who drafted, who decided): nothing the
    public or the answer wrote pings, and no announcement."""
    markup = [t["text"] for t in text_objects(message) if t["type"] == "mrkdwn"]
    for text in [*markup, message.get("text", "")]:
        assert "<!" not in text and "*Sorry*" not in text and "Example*" not in text, text
        for user in (ANALYST, APPROVER, APPROVER_2):
            text = text.replace(f"<@{user}>", "")
        assert "<@" not in text, text


async def clicked(slack: SlackHarness, message: JsonDict, action_id: str, *, user: str) -> None:
    status, _ = await slack.click(message, action_id, user=user)
    assert status == 200
    await slack.settle()


async def test_an_answer_is_drafted_approved_once_and_shown_sent(slack: SlackHarness) -> None:
    _, shown = await heard_in_thread(slack)
    store = slack.crier.core.store

    form = await click_reply(slack, shown, user=APPROVER)
    assert form["callback_id"] == View.ANSWER
    (field,) = [b for b in form["blocks"] if b["type"] == "input"]
    assert field["label"]["text"] == "Your answer (Mastodon: up to 500 characters)"
    assert field["element"]["multiline"]
    said = [t for t in text_objects(form) if t["text"] == PINGING]
    assert said and all(t["type"] == "plain_text" for t in said)  # the reply, as written

    status, refused = await slack.submit(form, {"answer": req.text_input("x" * 600)}, user=APPROVER)
    assert status == 200 and refused["response_action"] == "errors"
    assert "600/500" in refused["errors"]["answer"]
    status, refused = await slack.submit(form, {"answer": req.text_input("  ")}, user=APPROVER)
    assert refused["errors"] == {"answer": "This is required."}
    status, saved = await slack.submit(form, {"answer": req.text_input(ANSWER)}, user=APPROVER)
    assert (status, saved) == (200, {})
    await slack.settle()

    (waiting,) = answers_in(slack)
    words = plain_texts(waiting)
    assert "↩️ Answer to Ann <!here> *Example* (@ann@mastodon.social) on Mastodon" in words
    assert PINGING in words
    # Slack's markup typed in a form is its words (<!channel> is "@channel"), shown as written.
    typed = "@channel No, only eduroam is down; the VPN works. *Sorry*"
    assert typed in words
    assert f"{len(typed)}/500 characters · will notify @channel on Mastodon" in words
    assert f"drafted by <@{APPROVER}>" in as_text(waiting)
    staff_only(waiting)
    first = copy.deepcopy(waiting)

    await clicked(slack, waiting, Action.ANSWER_APPROVE, user=APPROVER)  # its author
    await clicked(slack, waiting, Action.ANSWER_APPROVE, user=ANALYST)  # not an approver
    assert ephemeral_texts(slack.workspace, APPROVER)[-1] == (
        "You wrote this answer, so another approver needs to approve it."
    )
    assert (
        "Only approvers can approve a public answer"
        in ephemeral_texts(slack.workspace, ANALYST)[-1]
    )

    edit = await open_from(slack, waiting, Action.ANSWER_EDIT, user=ANALYST)
    assert edit["callback_id"] == View.ANSWER_EDIT
    (field,) = [b for b in edit["blocks"] if b["type"] == "input"]
    assert field["element"]["initial_value"] == typed
    status, saved = await slack.submit(edit, {"answer": req.text_input(EDITED)}, user=ANALYST)
    assert (status, saved) == (200, {})
    await slack.settle()
    (edited,) = answers_in(slack)  # the same message, updated
    assert edited["ts"] == first["ts"] and EDITED in plain_texts(edited)
    assert "Revision 2" in as_text(edited)

    await clicked(slack, first, Action.ANSWER_APPROVE, user=APPROVER_2)  # revision 1's button
    assert "edited after you saw it" in ephemeral_texts(slack.workspace, APPROVER_2)[-1]
    assert not answer_deliveries(store)

    await clicked(slack, edited, Action.ANSWER_APPROVE, user=APPROVER_2)
    while await slack.crier.core.publishing.run_once():  # no credentials: the outbox
        pass
    await slack.settle()

    answer, delivery = the_answer(store)
    assert answer.state == "approved" and answer.decided_by == f"slack:{APPROVER_2}"
    assert delivery.state == DeliveryState.SENT and delivery.url
    (done,) = answers_in(slack)
    assert done["ts"] == first["ts"]
    assert f"✅ Approved by <@{APPROVER_2}>" in as_text(done)
    assert "Mastodon — ✅ sent" in as_text(done)
    assert f"<{delivery.url}|Open on Mastodon>" in as_text(done)
    assert not any(b["type"] == "actions" for b in done["blocks"])  # nothing left to decide
    staff_only(done)
    assert len(slack.workspace.ephemerals(APPROVER_2)) == 1  # the approval said nothing more

    await clicked(slack, edited, Action.ANSWER_APPROVE, user=APPROVER)  # a late second click
    assert "approved already" in ephemeral_texts(slack.workspace, APPROVER)[-1]
    assert len(answer_deliveries(store)) == 1


async def test_a_mention_in_a_surge_is_answered_from_the_comms_channel(
    slack_on_mastodon: tuple[SlackHarness, FakeMastodon],
) -> None:
    """No incident is open for Wi-Fi: the surge's alert is in the comms channel, *Reply* beside
    an example drafts an answer shown there (one top-level message, updated), and the approved
    answer goes out on Mastodon once, as a reply to that mention."""
    slack, mastodon = slack_on_mastodon
    store = slack.crier.core.store
    said = mastodon.mention("eduroam is down again, is the VPN too?", author="ann@mastodon.social")
    calm, angry = heard_rows(
        store,
        ["eduroam works here", PINGING],
        incident_id=None,
        service="Wi-Fi",
        external_ids=["1100999", said["id"]],
    )
    alert = SpikeAlert(service="Wi-Fi", sentence=SURGE, examples=(angry, calm), incident_id=None)
    await slack.crier.core.chat.spike(alert)
    (shown,) = [m for m in slack.workspace.messages(COMMS) if SURGE in plain_texts(m)]
    replies = [b["accessory"] for b in shown["blocks"] if b.get("accessory")]
    assert [(r["action_id"], r["value"]) for r in replies] == [
        (Action.HEARD_REPLY, str(angry.id)),
        (Action.HEARD_REPLY, str(calm.id)),
    ]

    form = await click_reply(slack, shown, user=APPROVER, heard=angry.id)
    assert form["callback_id"] == View.ANSWER
    assert PINGING in plain_texts(form)
    status, saved = await slack.submit(form, {"answer": req.text_input(EDITED)}, user=APPROVER)
    assert (status, saved) == (200, {})
    await slack.settle()

    def answers_in_comms() -> list[JsonDict]:
        return [m for m in slack.workspace.messages(COMMS) if "Answer to" in plain_texts(m)]

    (waiting,) = answers_in_comms()
    assert EDITED in plain_texts(waiting) and PINGING in plain_texts(waiting)
    assert f"drafted by <@{APPROVER}>" in as_text(waiting)
    staff_only(waiting)

    await clicked(slack, waiting, Action.ANSWER_APPROVE, user=APPROVER)  # its author
    assert ephemeral_texts(slack.workspace, APPROVER)[-1] == (
        "You wrote this answer, so another approver needs to approve it."
    )
    assert not answer_deliveries(store)

    await clicked(slack, waiting, Action.ANSWER_APPROVE, user=APPROVER_2)
    while await slack.crier.core.publishing.run_once():
        pass
    await slack.settle()

    answered = [s for s in mastodon.posted if s.get("in_reply_to_id") == said["id"]]
    (sent,) = answered  # once, threaded to that mention, by Crier's account
    assert sent["account"]["acct"] == "it" and sent["text"] == EDITED
    answer, delivery = the_answer(store)
    assert answer.incident_id is None and answer.heard_id == angry.id
    assert delivery.state == DeliveryState.SENT and delivery.url == sent["url"]
    (done,) = answers_in_comms()
    assert done["ts"] == waiting["ts"]  # the same message, updated
    assert f"✅ Approved by <@{APPROVER_2}>" in as_text(done)
    assert "Mastodon — ✅ sent" in as_text(done)
    assert f"<{delivery.url}|Open on Mastodon>" in as_text(done)
    assert not any(b["type"] == "actions" for b in done["blocks"])
    staff_only(done)


async def test_a_surge_in_an_incident_thread_offers_reply(slack: SlackHarness) -> None:
    """The surge's alert in the thread of the service's open incident: *Reply* beside each
    example too; the answer (to a mention: no incident) is shown in the comms channel."""
    draft = await declare(slack)
    await approve(slack, draft, messages_after=3)
    incident_id = latest_incident(slack.crier.core.store)
    await hear_surge(slack.crier.core, [PINGING], service="Blackboard", incident_id=incident_id)
    shown = slack.thread()[-1]
    assert SURGE in plain_texts(shown)
    form = await click_reply(slack, shown, user=ANALYST)
    status, saved = await slack.submit(form, {"answer": req.text_input(EDITED)}, user=ANALYST)
    assert (status, saved) == (200, {})
    await slack.settle()
    (waiting,) = [m for m in slack.workspace.messages(COMMS) if "Answer to" in plain_texts(m)]
    assert EDITED in plain_texts(waiting) and not answers_in(slack)


async def test_an_answer_rejected_says_why_and_who(slack: SlackHarness) -> None:
    _, shown = await heard_in_thread(slack)
    form = await click_reply(slack, shown, user=ANALYST)
    status, saved = await slack.submit(form, {"answer": req.text_input(EDITED)}, user=ANALYST)
    assert (status, saved) == (200, {})
    await slack.settle()
    (waiting,) = answers_in(slack)

    views = len(slack.workspace.calls_to("views.open"))
    await clicked(slack, waiting, Action.ANSWER_REJECT, user=OUTSIDER)
    assert "Only approvers can reject" in ephemeral_texts(slack.workspace, OUTSIDER)[-1]
    assert len(slack.workspace.calls_to("views.open")) == views  # no form for a refusal

    reject = await open_from(slack, waiting, Action.ANSWER_REJECT, user=APPROVER)
    assert reject["callback_id"] == View.ANSWER_REJECT
    reason = "Too curt <@U0OUTSIDER>: say when it is back"
    status, saved = await slack.submit(reject, {"reason": req.text_input(reason)}, user=APPROVER)
    assert (status, saved) == (200, {})
    await slack.settle()

    (rejected,) = answers_in(slack)
    assert rejected["ts"] == waiting["ts"]
    assert f"🚫 Rejected by <@{APPROVER}>: Too curt out.sider: say when it is back" in as_text(
        rejected
    )
    assert not any(b["type"] == "actions" for b in rejected["blocks"])
    staff_only(rejected)
    await clicked(slack, waiting, Action.ANSWER_EDIT, user=ANALYST)  # its old buttons
    assert "only a waiting answer can be edited" in ephemeral_texts(slack.workspace, ANALYST)[-1]


async def test_reply_on_something_gone_is_told_not_opened(slack: SlackHarness) -> None:
    _, shown = await heard_in_thread(slack)
    (block,) = [b for b in shown["blocks"] if b.get("accessory")]
    block["accessory"]["value"] = "999999"
    views = len(slack.workspace.calls_to("views.open"))
    body = req.block_action(
        action_id=Action.HEARD_REPLY,
        value="999999",
        block_id="reply",
        user_id=ANALYST,
        channel_id=COMMS,
        message_ts=shown["ts"],
        thread_ts=shown.get("thread_ts"),
        response_url=slack.workspace.new_response_url(),
    )
    assert (await slack.post(body))[0] == 200
    await slack.settle()
    assert "Crier heard nothing numbered #999999." in ephemeral_texts(slack.workspace, ANALYST)
    assert len(slack.workspace.calls_to("views.open")) == views


def test_the_largest_answer_fits_in_one_message() -> None:
    message = answer_message(largest_answer(), zone=ZoneInfo("America/New_York"))
    check_blocks(message["blocks"])
