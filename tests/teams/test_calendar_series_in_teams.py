"""The educational calendar's recurring series in Teams (issue 19), on a clock that stands still
until the test moves it: the daily drafting shows the week's posts as one card (each with
*Approve* and *Skip*, and *Approve all*), an outsider's *Approve* is refused on the card, an
approver skips one and approves the rest, the approved ones go out at 10:00 on the
organisation's clock and the skipped one never; "calendar" shows the next two weeks with their
buttons, and *Propose a post* proposes one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.config import CrierConfig
from bot.scheduling.calendar import CalendarEntry, CalendarState, sync_from_config
from bot.storage.models import ScheduledPost
from handlers.teams.calendar_weeks import weeks_card
from tests.clock import FakeClock
from tests.conftest import APPROVER as SLACK_APPROVER
from tests.conftest import make_config
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.card_schema import check_card
from tests.teams.harness import ANALYST, APPROVER, APPROVER_2, OUTSIDER, TeamsHarness, texts
from tests.teams.test_maintenance_in_teams import (
    cards_with,
    first_lines,
    mentioned,
    outbox,
    run_until,
)
from tests.teams.test_revise_and_resolve import declare, inputs_of, runs

JsonDict = dict[str, Any]
MWF_10 = "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=10;BYMINUTE=0"
BANK = [
    "Tip 1: lock your screen when you *step away*.",
    "Tip 2: a long passphrase beats a short password.",
    "Tip 3: report phishing with the Report button.",
    "Tip 4: update your laptop before the weekend.",
]
ZONE = "America/New_York"


@pytest.fixture
def config() -> CrierConfig:
    """Teams approvers, and the Tech tips series: Mon, Wed, Fri at 10:00, to X and Mastodon."""
    series = {"name": "Tech tips", "rule": MWF_10, "channels": ["x", "mastodon"], "posts": BANK}
    return make_config(
        approvals={
            "slack_users": [SLACK_APPROVER],
            "teams_users": [APPROVER[2], APPROVER_2[2]],
            "allow_self_approval": False,
        },
        calendar_series=[series],
    )


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in January 2026 on New York's clock (EST, UTC-5), as UTC."""
    return datetime(2026, 1, day, hour + 5, minute, tzinfo=UTC)


async def a_conversation(teams: TeamsHarness) -> None:
    """An incident declared in Teams and closed (nothing published): its conversation is where
    Crier may write unasked, and no incident is open to hold the posts."""
    draft = await declare(teams)
    form = await teams.click(draft, "Reject", user=APPROVER)
    await teams.click(draft, "Reject", user=APPROVER, inputs={"reason": "Not needed"}, card=form)
    root = teams.root_id()
    form = await teams.click(root, "Resolve", user=ANALYST)
    await teams.click(
        root, "Draft all-clear", user=ANALYST, inputs={"false_alarm": "yes"}, card=form
    )
    await teams.settle()


async def start_drafting(teams: TeamsHarness, clock: FakeClock) -> None:
    """What Crier's start-up does with crier.yml's series: the daily drafting job, due now."""
    core = teams.crier.core
    with core.store.transaction() as session:
        sync_from_config(session, config=core.config, now=clock.now())
    await run_until(teams, clock, clock.now())


def buttons_of(card: JsonDict, text: str) -> JsonDict:
    """The buttons under the post that says ``text`` (its ActionSet), to click one of them."""
    body = card["body"]
    at = next(i for i, b in enumerate(body) if text in texts(b))
    for following in body[at + 1 :]:
        if following["type"] == "ActionSet":
            return dict(following)
        assert following["type"] != "RichTextBlock" or not following.get("separator")  # next post
    raise AssertionError(f"no buttons under {text!r}")


def button_titles(node: JsonDict) -> list[str]:
    return [a["title"] for a in node.get("actions", [])]


def scheduled_states(teams: TeamsHarness) -> dict[str, str]:
    with teams.crier.core.store.transaction() as session:
        rows = session.exec(select(ScheduledPost).order_by(col(ScheduledPost.due_at))).all()
        return {row.text: row.state for row in rows}


async def test_a_week_of_tips_is_approved_on_one_card_and_goes_out_at_ten(
    timed_teams: TeamsHarness, connector: FakeBotConnector, clock: FakeClock
) -> None:
    teams = timed_teams  # Thursday 15 January 2026, 2:45 PM EST
    await a_conversation(teams)
    await start_drafting(teams, clock)

    # One card for the rest of this week and the next: Fri 16, Mon 19, Wed 21 and Fri 23 at
    # 10:00, the bank in turn.
    [review] = cards_with(connector, "Approve all")
    card = review.cards[0]
    assert "Next week's posts from Tech tips: 4 waiting for approval" in texts(card)
    shown = runs(card)
    days = ("Fri 16 Jan", "Mon 19 Jan", "Wed 21 Jan", "Fri 23 Jan")
    for when, tip in zip(days, BANK, strict=True):
        assert f"{when}, 10:00 AM EST" in shown
        assert tip in shown  # a TextRun: the asterisks stay as typed
        assert button_titles(buttons_of(card, tip)) == ["Approve", "Skip"]
    assert " · X, Mastodon" in shown
    assert set(mentioned(review)) == {APPROVER[2], APPROVER_2[2]}
    assert len(cards_with(connector, "Approve all")) == 1  # one message, not one per post

    # Someone who is not an approver: refused on the card, only for them; nothing changes.
    refused = await teams.click(review.id, "Approve", user=OUTSIDER, card=buttons_of(card, BANK[0]))
    assert "Only approvers" in texts(refused)
    assert button_titles(buttons_of(refused, BANK[0])) == ["Approve", "Skip"]
    assert connector.card(review.id) == card
    assert set(scheduled_states(teams).values()) == {CalendarState.PENDING}

    # An approver skips Monday's: the card says so, for everyone; the others keep their buttons.
    skipped = await teams.click(review.id, "Skip", user=APPROVER, card=buttons_of(card, BANK[1]))
    assert connector.card(review.id) == skipped
    assert "Skipped by " in texts(skipped) and "Alex Approver" in runs(skipped)
    assert button_titles(buttons_of(skipped, BANK[0])) == ["Approve", "Skip"]
    with pytest.raises(AssertionError):
        buttons_of(skipped, BANK[1])
    assert "3 waiting for approval" in texts(skipped)

    # Approve all: the three left are approved; no button is left on the card.
    approved = await teams.click(review.id, "Approve all", user=APPROVER_2)
    assert connector.card(review.id) == approved
    assert runs(approved).count("✅ Approved by ") == 3
    assert "Sam Second" in runs(approved) and "⏭️ Skipped by " in runs(approved)
    assert "Approve" not in button_titles(approved) and '"ActionSet"' not in texts(approved)
    assert scheduled_states(teams) == {
        BANK[0]: CalendarState.SCHEDULED,
        BANK[1]: CalendarState.SKIPPED,
        BANK[2]: CalendarState.SCHEDULED,
        BANK[3]: CalendarState.SCHEDULED,
    }

    # Friday 10:00 on New York's clock: Friday's tip, on X and Mastodon; not a minute before.
    assert await run_until(teams, clock, local(16, 9, 59)) == []
    friday = await run_until(teams, clock, local(16, 10))
    assert sorted(p.network for p in friday) == ["mastodon", "x"]
    assert first_lines(friday) == {BANK[0]}
    # Monday's was skipped: it never goes out; Wednesday's does, at 10:00.
    assert BANK[1] not in first_lines(await run_until(teams, clock, local(21, 9, 59)))
    wednesday = await run_until(teams, clock, local(21, 10))
    assert first_lines(wednesday) == {BANK[2]}
    assert BANK[1] not in first_lines(outbox(teams))


async def test_calendar_shows_the_next_two_weeks_and_proposes_a_post(
    timed_teams: TeamsHarness, connector: FakeBotConnector, clock: FakeClock
) -> None:
    teams = timed_teams
    await a_conversation(teams)
    await start_drafting(teams, clock)
    [review] = cards_with(connector, "Approve all")
    friday = buttons_of(review.cards[0], BANK[0])
    await teams.click(review.id, "Approve", user=APPROVER, card=friday)

    before = len(connector.posts())
    assert await teams.say("calendar", user=ANALYST) == 202
    calendar = (await connector.wait_for_posts(before + 1))[-1]
    card = calendar.cards[0]
    said = texts(card)
    assert "the next two weeks" in said
    assert "Friday 16 January" in said and "Monday 19 January" in said
    assert said.index("Friday 16 January") < said.index("Monday 19 January")
    shown = runs(card)
    assert any("🗓️ scheduled" in run for run in shown)  # Friday's, approved
    assert any("⏳ waiting for approval" in run for run in shown)
    assert "Tech tips" in shown  # its series
    assert button_titles(buttons_of(card, BANK[0])) == ["Skip"]
    assert button_titles(buttons_of(card, BANK[1])) == ["Approve", "Skip"]
    assert button_titles(card) == ["Propose a post"]

    # Approve from it: the calendar's card shows it scheduled now, for everyone.
    answer = await teams.click(
        calendar.id, "Approve", user=APPROVER_2, card=buttons_of(card, BANK[1])
    )
    assert "Approved by Sam Second: post #" in texts(answer)
    assert button_titles(buttons_of(answer, BANK[1])) == ["Skip"]
    assert connector.card(calendar.id) == answer
    # Refused (already decided) on the card, for the clicker only.
    again = await teams.click(calendar.id, "Approve", user=APPROVER, card=buttons_of(card, BANK[1]))
    assert "already approved" in texts(again)
    assert connector.card(calendar.id) == answer

    # Propose a post: the form, then the post waits for an approver, shown here.
    form = await teams.click(calendar.id, "Propose a post", user=ANALYST)
    assert f"Day ({ZONE})" in texts(form) and f"Time ({ZONE})" in texts(form)
    typed = inputs_of(form) | {
        "text": "Tip: the *library* Wi-Fi is eduroam.",
        "calendar_day": "2026-01-20",
        "calendar_time": "11:30",
        "channels": "mastodon",
    }
    before = len(connector.posts())
    proposed = await teams.click(calendar.id, "Propose", user=ANALYST, inputs=typed, card=form)
    assert "it waits for an approver who is not you" in texts(proposed)
    assert "Tip: the *library* Wi-Fi is eduroam." in runs(proposed)
    await run_until(teams, clock, clock.now())
    shown_to = connector.posts()[before:]
    [approvers] = [c for c in shown_to for card in c.cards if "Scheduled post #" in texts(card)]
    assert approvers.conversation_id == calendar.conversation_id  # where it was proposed
    assert set(mentioned(approvers)) == {APPROVER[2], APPROVER_2[2]}
    # A time already past: the form again, the problem under the time.
    typed |= {"calendar_day": "2026-01-15", "calendar_time": "09:00"}
    late = await teams.click(calendar.id, "Propose", user=ANALYST, inputs=typed, card=form)
    assert "That time has passed." in texts(late) and inputs_of(late)["calendar_time"] == "09:00"


def test_a_held_post_offers_post_now_and_skip() -> None:
    at = datetime(2026, 1, 16, 15, tzinfo=UTC)
    held = CalendarEntry(
        id=7,
        text="Tip: *bold*?",
        channels=("x",),
        due_at=at,
        state=CalendarState.HELD,
        held_by=3,
        series="Tech tips",
    )
    later = CalendarEntry(
        id=8,
        text="Later",
        channels=("x",),
        due_at=at + timedelta(days=3),
        state=CalendarState.SCHEDULED,
        held_by=None,
    )
    card = weeks_card([held, later], zone=ZoneInfo(ZONE))
    check_card(card)
    assert button_titles(buttons_of(card, "Tip: *bold*?")) == ["Post now", "Skip"]
    assert "⏸️ held by incident #3" in texts(card)
    assert button_titles(buttons_of(card, "Later")) == ["Skip"]
