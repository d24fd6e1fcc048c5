"""Story: crier.yml's "Tech tips" series (Mon, Wed, Fri at 10:00) is drafted a week ahead and
shown to the approvers in one Slack message; an analyst's *Approve* is refused, an approver
skips one post and approves the rest; at 10:00 on their days the approved ones go out and the
skipped one never does; `/outage calendar` lists the two weeks with their states."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from bot.config import CrierConfig
from bot.scheduling.calendar import ensure_series_drafting
from bot.storage.models import OutboxPost
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, COMMS, make_config
from tests.fakes import slack_requests as req
from tests.scenario.conftest import tick
from tests.scenario.harness import SlackHarness, as_text, ephemeral_texts

MWF_10 = "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=10;BYMINUTE=0"
BANK = [
    "Tip 1: lock your screen when you step away.",
    "Tip 2: a long passphrase beats a short password.",
    "Tip 3: report phishing with the Report button.",
    "Tip 4: update your laptop before the weekend.",
]
JsonDict = dict[str, Any]


@pytest.fixture
def config() -> CrierConfig:
    tips = {"name": "Tech tips", "rule": MWF_10, "channels": ["x", "mastodon"], "posts": BANK}
    return make_config(calendar_series=[tips])


def batch_messages(slack: SlackHarness) -> list[JsonDict]:
    return [
        m
        for m in slack.workspace.messages(COMMS)
        if str(m.get("text", "")).startswith("Next week's posts from")
    ]


def post_row(message: JsonDict, text: str) -> JsonDict:
    """The message cut to the buttons of the post that says ``text`` (the block after it)."""
    blocks = message["blocks"]
    at = next(i for i, b in enumerate(blocks) if text in as_text(b))
    return {**message, "blocks": [blocks[at + 1]]}


def published(slack: SlackHarness) -> set[str]:
    with slack.crier.core.store.transaction() as session:
        return {p.text for p in session.exec(select(OutboxPost)).all()}


async def calendar_list(slack: SlackHarness, user: str) -> JsonDict:
    """What `/outage calendar` answered ``user`` (only they see it)."""
    url = slack.workspace.new_response_url()
    body = req.slash_command(
        "/outage", "calendar", user_id=user, channel_id=COMMS, response_url=url
    )
    status, _ = await slack.post(body)
    assert status == 200
    [answer] = await slack.workspace.wait_for_response(url)
    return {**answer, "ts": "0"}


async def test_a_week_of_tips_is_approved_in_one_message_and_goes_out_on_its_days(
    timed_slack: SlackHarness, clock: FakeClock
) -> None:
    slack = timed_slack
    with slack.crier.core.store.transaction() as session:  # as Crier's start-up does
        ensure_series_drafting(session, config=slack.crier.core.config, now=clock.now())
    # Thursday 15 January, 2:45 PM EST: the rest of this week and all of the next
    await tick(slack, clock, seconds=0)
    await slack.workspace.wait_for("chat.postMessage", count=1)
    [batch] = batch_messages(slack)
    shown = as_text(batch)
    assert "Next week's posts from Tech tips: 4 waiting for approval" in shown
    assert "<@U0APPROVER1>" in shown  # the approvers are named
    for day in ("Fri 16 Jan, 10:00 AM EST", "Mon 19 Jan, 10:00 AM EST", "Fri 23 Jan, 10:00 AM EST"):
        assert day in shown, day
    assert (
        shown.count('"calendar_batch_approve"') == 4 and shown.count('"calendar_batch_skip"') == 4
    )
    assert "calendar_batch_approve_all" in shown
    # Each post's text is plain text: what it says never pings anyone.
    texts = [b for b in batch["blocks"] if BANK[0] in as_text(b)]
    assert texts[0]["text"]["type"] == "plain_text"

    await slack.click(post_row(batch, BANK[0]), "calendar_batch_approve", user=ANALYST)
    await slack.workspace.wait_for("chat.postEphemeral")
    assert any("approver" in t.lower() for t in ephemeral_texts(slack.workspace, ANALYST))
    assert not slack.workspace.calls_to("chat.update")  # the refusal changed nothing

    await slack.click(post_row(batch, BANK[2]), "calendar_batch_skip", user=APPROVER)
    await slack.workspace.wait_for("chat.update")
    await slack.settle()
    [batch] = batch_messages(slack)
    shown = as_text(batch)
    assert "Skipped by <@U0APPROVER1>" in shown and "3 waiting for approval" in shown
    assert "<@U0APPROVER2>: approve or skip" in shown  # still named while posts wait
    assert shown.count('"calendar_batch_approve"') == 3  # the others keep their buttons
    assert post_row(batch, BANK[2])["blocks"][0]["type"] == "context"  # its buttons are gone

    await slack.click(batch, "calendar_batch_approve_all", user=APPROVER)
    await slack.workspace.wait_for("chat.update", count=2)
    await slack.settle()
    [batch] = batch_messages(slack)
    shown = as_text(batch)
    assert shown.count("Approved by <@U0APPROVER1>") == 3 and "Skipped by" in shown
    assert "calendar_batch_approve" not in shown and "calendar_batch_skip" not in shown
    assert "0 waiting for approval" in shown and "approve or skip" not in shown

    listed = as_text(await calendar_list(slack, ANALYST))
    assert "Friday 16 January" in listed and "Monday 19 January" in listed
    assert listed.count("✅ scheduled") == 3 and "series Tech tips" in listed
    assert BANK[2] not in listed  # skipped: no longer on the calendar
    assert "calendar_propose" in listed and "calendar_list_skip" in listed

    # Friday 10:00 EST, then Monday, then past Wednesday's 10:00: a post a day it was approved.
    await tick(slack, clock, hours=19, minutes=15)
    await slack.settle()
    assert published(slack) == {BANK[0]}
    await tick(slack, clock, days=3)
    await slack.settle()
    assert published(slack) == {BANK[0], BANK[1]}
    await tick(slack, clock, days=2, hours=1)
    await slack.settle()
    assert clock.now() == datetime(2026, 1, 21, 16, 0, tzinfo=UTC)  # 11:00 AM EST, Wednesday
    assert published(slack) == {BANK[0], BANK[1]}  # Tip 3 was skipped; later ones unapproved


async def test_the_calendar_list_has_each_posts_buttons_and_proposes_a_post(
    timed_slack: SlackHarness, clock: FakeClock
) -> None:
    slack = timed_slack
    listed = await calendar_list(slack, ANALYST)
    assert "Nothing is waiting for approval" in as_text(listed)
    with slack.crier.core.store.transaction() as session:
        ensure_series_drafting(session, config=slack.crier.core.config, now=clock.now())
    await tick(slack, clock, seconds=0)
    await slack.workspace.wait_for("chat.postMessage", count=1)

    listed = await calendar_list(slack, ANALYST)
    shown = as_text(listed)
    assert shown.count("⏳ waiting for approval") == 4
    assert shown.count('"calendar_list_approve"') == 4
    # The analyst may see the buttons; the core refuses their click.
    await slack.click(post_row(listed, BANK[0]), "calendar_list_approve", user=ANALYST)
    await slack.workspace.wait_for("chat.postEphemeral")
    assert any("approver" in t.lower() for t in ephemeral_texts(slack.workspace, ANALYST))

    listed = await calendar_list(slack, APPROVER)
    await slack.click(post_row(listed, BANK[1]), "calendar_list_skip", user=APPROVER)
    await slack.workspace.wait_for("chat.postEphemeral", count=2)
    await slack.settle()
    assert any("Skipped scheduled post" in t for t in ephemeral_texts(slack.workspace, APPROVER))
    assert BANK[1] not in as_text(await calendar_list(slack, APPROVER))

    await slack.click(listed, "calendar_propose", user=ANALYST)
    view = await slack.open_modal()
    assert view["callback_id"] == "calendar_add_form"
