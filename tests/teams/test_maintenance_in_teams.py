"""Planned maintenance in Teams (issue 19), on a clock that stands still until the test moves
it: planned on the form card, its series shown to the approvers with each post's time and text,
approved by one who did not plan it, each post published at its time, asked about once the
window has ended, extended (approved by another approver) and completed. From its card, a
maintenance is edited (the form filled in with it as it is; the series drafted and approved
again) or cancelled (at once before its announcement, else by an approved cancellation)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from bot.maintenance.desk import NOT_YOURS
from bot.maintenance.series import CHANGED_SINCE
from bot.storage.models import MaintenanceState, OutboxPost
from tests.clock import FakeClock
from tests.fakes.bot_connector import ConnectorCall, FakeBotConnector
from tests.teams.harness import (
    ANALYST,
    APPROVER,
    APPROVER_2,
    OUTSIDER,
    Person,
    TeamsHarness,
    texts,
)
from tests.teams.test_revise_and_resolve import inputs_of, runs

JsonDict = dict[str, Any]
PLANNER = APPROVER_2  # an approver: approving their own series is what is refused
NETWORKS = ["bluesky", "facebook", "mastodon", "x"]  # enabled, not a status page or the site
ZONE = "America/New_York"
# Tue 20 Jan 2026, 10:00 AM to 12:00 PM EST; the test starts Thu 15 Jan, 2:45 PM EST.
WINDOW = {"start_day": "2026-01-20", "start_time": "10:00", "end_day": "2026-01-20"}
WINDOW |= {"end_time": "12:00"}
WORK = {
    "services": "Blackboard",
    "title": "upgrading to the new version",
    "what_users_notice": "You cannot sign in to *Blackboard*.",
    "what_to_do": "Submit assignments early.",
}


def outbox(teams: TeamsHarness) -> list[OutboxPost]:
    with teams.crier.core.store.transaction() as session:
        posts = list(session.exec(select(OutboxPost).order_by(col(OutboxPost.id))).all())
        session.expunge_all()
        return posts


async def run_until(teams: TeamsHarness, clock: FakeClock, at: datetime) -> list[OutboxPost]:
    """Move the clock to ``at``, run the jobs due and publish; what the outbox got meanwhile."""
    before = len(outbox(teams))
    clock.advance(seconds=(at - clock.now()).total_seconds())
    await teams.crier.core.scheduler.drain()
    await teams.settle()
    return outbox(teams)[before:]


def first_lines(posts: list[OutboxPost]) -> set[str]:
    return {p.text.splitlines()[0] for p in posts}


def cards_with(connector: FakeBotConnector, title: str) -> list[ConnectorCall]:
    """Messages whose card has a button ``title``, oldest first."""
    found = []
    for call in connector.posts():
        for card in call.cards:
            if f'"title": "{title}"' in texts(card.get("actions", [])):
                found.append(call)
    return found


def mentioned(call: ConnectorCall) -> list[str]:
    return [e["mentioned"]["id"] for e in call.activity.get("entities") or []]


def buttons(card: JsonDict) -> list[str]:
    return [a["title"] for a in card.get("actions", [])]


async def open_form(teams: TeamsHarness, user: Person) -> tuple[str, JsonDict]:
    before = len(teams.connector.posts())
    assert await teams.say("maintenance", user=user) == 202
    *_, form = await teams.connector.wait_for_posts(before + 1)
    return form.id, teams.connector.card(form.id)


async def test_a_maintenance_planned_in_teams_goes_out_post_by_post(
    timed_teams: TeamsHarness, connector: FakeBotConnector, clock: FakeClock
) -> None:
    teams = timed_teams
    form_id, form = await open_form(teams, PLANNER)
    defaults = inputs_of(form)
    assert defaults["announce"] == "3d" and defaults["remind"] == "60"
    assert sorted(defaults["channels"].split(",")) == NETWORKS  # every one ticked
    services = next(b for b in form["body"] if b.get("id") == "services")
    assert services["isMultiSelect"] and {"title": "Wi-Fi", "value": "Wi-Fi"} in services["choices"]
    for label in ("Start day", "Start time", "End day", "End time"):
        assert f"{label} ({ZONE})" in texts(form)
    assert "1 week before" in texts(form) and "At once when approved" in texts(form)

    # Planned: the form says so, for everyone; the series waits for an approver.
    answer = await teams.click(
        form_id, "Plan maintenance", user=PLANNER, inputs=defaults | WORK | WINDOW
    )
    assert "Sam Second planned maintenance #1" in texts(answer) and not buttons(answer)
    await run_until(teams, clock, clock.now())
    [review] = cards_with(connector, "Approve all")
    assert review.conversation_id == connector.conversations[form_id]  # where it was planned
    card = review.cards[0]
    shown = runs(card)
    assert "Blackboard — upgrading to the new version" in shown
    assert "Sam Second" in shown  # planned by: a name, not an object id
    for kind, goes_out in (
        ("Announcement", " · Sat 17 Jan, 10:00 AM EST"),
        ("Reminder", " · Tue 20 Jan, 9:00 AM EST"),
        ("Start", " · Tue 20 Jan, 10:00 AM EST"),
        ("Completion", " · when you mark it complete"),
    ):
        assert shown[shown.index(kind) + 1] == goes_out
    # People's words as plain text runs (the asterisks stay), in every channel's text.
    notice = [t for t in shown if "You cannot sign in to *Blackboard*." in t]
    assert len(notice) >= 2
    assert "Tue 20 Jan, 10:00 AM to 12:00 PM EST" in shown
    # The approvers, mentioned: by the Teams id Crier has seen, else by their Entra object id.
    assert set(mentioned(review)) == {APPROVER[2], APPROVER_2[0]}
    assert await run_until(teams, clock, datetime(2026, 1, 16, tzinfo=UTC)) == []  # not approved

    # The planner's own Approve all is refused, on the card as it stands.
    refused = await teams.click(review.id, "Approve all", user=PLANNER)
    assert "another approver needs to approve" in texts(refused)
    assert buttons(refused) == ["Approve all", "Reject", "Edit", "Cancel maintenance"]
    approved = await teams.click(review.id, "Approve all", user=APPROVER)
    assert "✅ Approved by " in runs(approved) and "Alex Approver" in runs(approved)
    # For everyone: only the buttons that change or call it off are left.
    assert buttons(approved) == buttons(connector.card(review.id)) == ["Edit", "Cancel maintenance"]

    # Each post at its time, with that time on it.
    announced = await run_until(teams, clock, datetime(2026, 1, 17, 15, tzinfo=UTC))
    assert sorted(p.network for p in announced) == NETWORKS
    assert first_lines(announced) == {"Planned maintenance · 10:00 AM EST"}
    assert "You cannot sign in to *Blackboard*." in announced[0].text
    reminder = await run_until(teams, clock, datetime(2026, 1, 20, 14, tzinfo=UTC))
    assert first_lines(reminder) == {"Reminder · 9:00 AM EST"} and len(reminder) == 4
    started = await run_until(teams, clock, datetime(2026, 1, 20, 15, tzinfo=UTC))
    assert first_lines(started) == {"Maintenance started · 10:00 AM EST"}

    # Past its end nobody said it is done: the planner is asked, and nothing is published.
    assert await run_until(teams, clock, datetime(2026, 1, 20, 17, 1, tzinfo=UTC)) == []
    [overdue] = cards_with(connector, "Complete")
    question = overdue.cards[0]
    assert "The window ended at Tue 20 Jan, 12:00 PM EST: is the work done?" in texts(question)
    assert buttons(question) == [
        "Complete",
        "Extend by 30 min",
        "Extend by 1 hour",
        "Extend by 2 hours",
    ]
    assert mentioned(overdue) == [PLANNER[0]]  # by the Teams id the planner wrote from

    # An extension: drafted, shown to the approvers, approved by another one, then out.
    asked = await teams.click(overdue.id, "Extend by 1 hour", user=APPROVER)
    assert "⏳ Extension asked by " in runs(asked) and not buttons(asked)
    await run_until(teams, clock, clock.now())
    [change] = cards_with(connector, "Approve")
    # An hour after it was asked, the window having ended already.
    assert "We now expect to finish by 1:01 PM EST" in texts(change.cards[0])
    assert set(mentioned(change)) == {APPROVER[0], APPROVER_2[0]}
    own = await teams.click(change.id, "Approve", user=APPROVER)
    assert "You asked for this" in texts(own) and buttons(own) == ["Approve", "Reject"]
    before = len(outbox(teams))  # an approved extension goes out at once
    extended = await teams.click(change.id, "Approve", user=APPROVER_2)
    assert "Sam Second" in runs(extended) and not buttons(extended)
    await teams.settle()
    out = outbox(teams)[before:]
    assert first_lines(out) == {"Maintenance extended · 12:01 PM EST"}

    # The new end passes: asked again; Complete publishes the approved completion.
    await run_until(teams, clock, datetime(2026, 1, 20, 18, 2, tzinfo=UTC))
    *_, again = cards_with(connector, "Complete")
    assert again.id != overdue.id
    before = len(outbox(teams))
    done = await teams.click(again.id, "Complete", user=ANALYST)
    assert "✅ Marked complete by " in runs(done) and "Ana Lyst" in runs(done)
    await teams.settle()
    completed = outbox(teams)[before:]
    assert first_lines(completed) == {"Maintenance complete · 1:02 PM EST"}
    assert len(completed) == 4
    late = await teams.click(again.id, "Complete", user=APPROVER, card=question)
    assert "completed" in texts(late) and not buttons(late)


async def test_a_start_the_clocks_skip_is_refused_on_the_form(timed_teams: TeamsHarness) -> None:
    form_id, form = await open_form(timed_teams, ANALYST)
    # Sun 8 Mar 2026 in New York: the clocks go from 2:00 to 3:00 AM.
    skipped = {"start_day": "2026-03-08", "start_time": "02:30", "end_day": "2026-03-08"}
    inputs = inputs_of(form) | WORK | skipped | {"end_time": "05:00"}
    again = await timed_teams.click(form_id, "Plan maintenance", user=ANALYST, inputs=inputs)
    assert "The start time 02:30 on Sun 08 Mar does not exist in America/New_York" in texts(again)
    kept = inputs_of(again)
    assert kept["start_time"] == "02:30" and kept["title"] == WORK["title"]
    assert buttons(again) == ["Plan maintenance"]

    missing = await timed_teams.click(
        form_id, "Plan maintenance", user=ANALYST, inputs=inputs | WINDOW | {"title": " "}
    )
    assert "Please fill in title" in texts(missing)
    assert json.dumps(missing).count("This is required.") == 1  # under the input it concerns
    assert not cards_with(timed_teams.connector, "Approve all")


async def plan_and_approve(teams: TeamsHarness, clock: FakeClock) -> tuple[ConnectorCall, JsonDict]:
    """The form's maintenance planned by ``PLANNER`` and approved: its series' message, and its
    card once approved."""
    form_id, form = await open_form(teams, PLANNER)
    inputs = inputs_of(form) | WORK | WINDOW
    await teams.click(form_id, "Plan maintenance", user=PLANNER, inputs=inputs)
    await run_until(teams, clock, clock.now())
    [review] = cards_with(teams.connector, "Approve all")
    approved = await teams.click(review.id, "Approve all", user=APPROVER)
    assert buttons(approved) == ["Edit", "Cancel maintenance"]
    return review, approved


async def test_a_scheduled_maintenance_edited_on_its_card_goes_out_at_its_new_times(
    timed_teams: TeamsHarness, connector: FakeBotConnector, clock: FakeClock
) -> None:
    teams = timed_teams
    review, _ = await plan_and_approve(teams, clock)

    refused = await teams.click(review.id, "Edit", user=OUTSIDER)
    assert NOT_YOURS in texts(refused) and buttons(refused) == ["Edit", "Cancel maintenance"]

    # The planner's form, for them alone, shows the maintenance as it is, in New York's time.
    form = await teams.click(review.id, "Edit", user=PLANNER)
    assert "Edit maintenance #1" in texts(form) and buttons(form) == ["Save changes"]
    filled = inputs_of(form)
    assert filled | WORK | WINDOW == filled  # what was typed, as it was typed
    assert filled["announce"] == "3d" and filled["remind"] == "60"
    assert sorted(filled["channels"].split(",")) == NETWORKS
    assert buttons(connector.card(review.id)) == ["Edit", "Cancel maintenance"]  # theirs stays

    # Two days later: Thu 22 Jan, 10:00 AM to 12:00 PM EST.
    later = {"start_day": "2026-01-22", "end_day": "2026-01-22"}
    saved = await teams.click(
        review.id, "Save changes", user=PLANNER, inputs=filled | later, card=form
    )
    assert "Sam Second edited maintenance #1" in texts(saved) and not buttons(saved)
    assert texts(connector.card(review.id)) == texts(saved)  # for everyone
    await run_until(teams, clock, clock.now())
    *_, new = cards_with(connector, "Approve all")
    assert new.id != review.id
    shown = runs(new.cards[0])
    assert "Thu 22 Jan, 10:00 AM to 12:00 PM EST" in shown
    assert shown[shown.index("Announcement") + 1] == " · Mon 19 Jan, 10:00 AM EST"

    # The first series' card, as an approver still had it, approves nothing now.
    old = await teams.click(review.id, "Approve all", user=APPROVER, card=review.cards[0])
    assert CHANGED_SINCE in texts(old)
    desk = teams.crier.core.maintenance
    assert (await desk.view(1)).state == MaintenanceState.PENDING
    await teams.click(new.id, "Approve all", user=APPROVER)
    assert (await desk.view(1)).state == MaintenanceState.SCHEDULED

    # The old announcement's time passes with nothing; each post goes out at its new time.
    assert await run_until(teams, clock, datetime(2026, 1, 17, 15, tzinfo=UTC)) == []
    announced = await run_until(teams, clock, datetime(2026, 1, 19, 15, tzinfo=UTC))
    assert first_lines(announced) == {"Planned maintenance · 10:00 AM EST"}
    assert len(announced) == 4 and "Thu 22 Jan, 10:00 AM to 12:00 PM EST" in announced[0].text
    reminder = await run_until(teams, clock, datetime(2026, 1, 22, 14, tzinfo=UTC))
    assert first_lines(reminder) == {"Reminder · 9:00 AM EST"}
    started = await run_until(teams, clock, datetime(2026, 1, 22, 15, tzinfo=UTC))
    assert first_lines(started) == {"Maintenance started · 10:00 AM EST"}

    late = await teams.click(new.id, "Edit", user=PLANNER)
    assert "This maintenance is in progress." in texts(late)


async def test_a_maintenance_cancelled_on_its_card_before_its_announcement_says_nothing(
    timed_teams: TeamsHarness, clock: FakeClock
) -> None:
    teams = timed_teams
    review, _ = await plan_and_approve(teams, clock)
    refused = await teams.click(review.id, "Cancel maintenance", user=OUTSIDER)
    assert NOT_YOURS in texts(refused)
    cancelled = await teams.click(review.id, "Cancel maintenance", user=APPROVER)
    assert "🚫 Cancelled by " in runs(cancelled) and not buttons(cancelled)
    assert (await teams.crier.core.maintenance.view(1)).state == MaintenanceState.CANCELLED
    assert await run_until(teams, clock, datetime(2026, 1, 21, tzinfo=UTC)) == []
    assert not cards_with(teams.connector, "Complete")  # nobody is asked about its end


async def test_a_maintenance_cancelled_after_its_announcement_publishes_an_approved_word(
    timed_teams: TeamsHarness, connector: FakeBotConnector, clock: FakeClock
) -> None:
    teams = timed_teams
    review, _ = await plan_and_approve(teams, clock)
    announced = await run_until(teams, clock, datetime(2026, 1, 17, 15, tzinfo=UTC))
    assert len(announced) == 4

    asked = await teams.click(review.id, "Cancel maintenance", user=PLANNER)
    assert "⏳ Cancellation asked by " in runs(asked)
    assert await run_until(teams, clock, clock.now()) == []  # not without an approver
    [change] = cards_with(connector, "Approve")
    assert "Calling it off" in runs(change.cards[0])
    assert "will not take place" in texts(change.cards[0])
    desk = teams.crier.core.maintenance
    assert (await desk.view(1)).state == MaintenanceState.SCHEDULED

    before = len(outbox(teams))
    approved = await teams.click(change.id, "Approve", user=APPROVER)
    assert "✅ Approved by " in runs(approved)
    await teams.settle()
    out = outbox(teams)[before:]
    assert first_lines(out) == {"Maintenance cancelled · 10:00 AM EST"} and len(out) == 4
    assert (await desk.view(1)).state == MaintenanceState.CANCELLED
    assert await run_until(teams, clock, datetime(2026, 1, 21, tzinfo=UTC)) == []
