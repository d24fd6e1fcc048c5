"""Story: an analyst plans a maintenance with `/outage maintenance`; an approver (not the analyst)
approves its whole series; each post goes out at its time; past the end Crier asks whether the
work is done; an extension is asked for and approved; *Complete* publishes the completion. And
the form refuses a start the clocks skip, and a maintenance of no service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.config import Network
from bot.maintenance.desk import NOT_AN_APPROVER, OWN_SERIES
from bot.maintenance.series import CHANGED_SINCE, MaintenanceRequest
from bot.ports import Actor
from bot.storage.models import MaintenanceState, OutboxPost
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, APPROVER_2, COMMS
from tests.fakes.slack_requests import text_input
from tests.scenario.conftest import tick
from tests.scenario.harness import JsonDict, SlackHarness, as_text, ephemeral_texts

PLAN_FORM = "maintenance_plan_form"
# The clock starts on Thu 15 Jan 2026, 2:45 PM EST; the window is Tue 20 Jan, 10:00-11:30 PM EST.
STARTS = datetime(2026, 1, 21, 3, 0, tzinfo=UTC)
ENDS = datetime(2026, 1, 21, 4, 30, tzinfo=UTC)


def form(**changes: JsonDict) -> dict[str, JsonDict]:
    """The form as a person fills it in (the announcement and reminder left as they were)."""
    values = {
        "services": {
            "type": "multi_static_select",
            "selected_options": [{"value": "Blackboard"}],
        },
        "title": text_input("upgrading to the new version"),
        "what_users_notice": text_input("you cannot sign in to Blackboard"),
        "what_to_do": text_input("submit assignments early"),
        "maintenance_start_day": {"type": "datepicker", "selected_date": "2026-01-20"},
        "maintenance_start_time": {"type": "timepicker", "selected_time": "22:00"},
        "maintenance_end_day": {"type": "datepicker", "selected_date": "2026-01-20"},
        "maintenance_end_time": {"type": "timepicker", "selected_time": "23:30"},
        "channels": {
            "type": "checkboxes",
            "selected_options": [{"value": "x"}, {"value": "mastodon"}],
        },
    }
    return {**values, **changes}


def shown(slack: SlackHarness) -> list[JsonDict]:
    """The maintenance messages in the comms channel, oldest first (as last updated)."""
    return [
        m
        for m in slack.workspace.messages(COMMS)
        if str(m.get("text", "")).startswith("Planned maintenance #")
    ]


def published(slack: SlackHarness) -> list[OutboxPost]:
    with slack.crier.core.store.transaction() as session:
        return list(session.exec(select(OutboxPost).order_by(col(OutboxPost.id))).all())


async def move_to(slack: SlackHarness, clock: FakeClock, at: datetime) -> list[OutboxPost]:
    """Move the clock to ``at`` and run what came due; what went out meanwhile."""
    before = len(published(slack))
    await tick(slack, clock, seconds=(at - clock.now()).total_seconds())
    return published(slack)[before:]


def first_lines(posts: list[OutboxPost]) -> dict[str, str]:
    return {p.network: p.text.splitlines()[0] for p in posts}


async def open_form(slack: SlackHarness) -> JsonDict:
    await slack.command("maintenance", user=ANALYST)
    view = await slack.open_modal()
    assert view["callback_id"] == PLAN_FORM
    return view


async def test_a_maintenance_planned_approved_published_extended_and_completed(
    timed_slack: SlackHarness, clock: FakeClock
) -> None:
    slack = timed_slack
    view = await open_form(slack)
    labels = as_text(view)
    assert "Start time (America/New_York)" in labels and "End time (America/New_York)" in labels
    status, answer = await slack.submit(view, form(), user=ANALYST)
    assert (status, answer) == (200, {})

    # The approvers see the whole series: each post, when it goes out, and its words.
    [review] = await wait_for_shown(slack, 1)
    said = as_text(review)
    assert "Planned maintenance: Blackboard — upgrading to the new version" in said
    assert "<@U0APPROVER1>" in said  # the approvers are asked
    for when in (
        "Announcement* · Sat 17 Jan, 10:00 PM EST",
        "Reminder* · Tue 20 Jan, 9:00 PM EST",
        "Start* · Tue 20 Jan, 10:00 PM EST",
        "Completion* · when you mark it complete",
    ):
        assert when in said, when
    assert "Planned maintenance · ⏱10:00 PM EST" in said
    assert "You cannot sign in to Blackboard." in said
    assert "maintenance_approve" in said and "maintenance_reject" in said

    # Not by the analyst who planned it (an approver's own is refused too: below).
    await slack.click(review, "maintenance_approve", user=ANALYST)
    await slack.workspace.wait_for("chat.postEphemeral", count=2)  # after "is planned"
    await slack.settle()
    assert NOT_AN_APPROVER in ephemeral_texts(slack.workspace, ANALYST)
    assert "maintenance_approve" in as_text(shown(slack)[0])

    await slack.click(review, "maintenance_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.update")
    await slack.settle()
    [approved] = shown(slack)
    assert "Approved by <@U0APPROVER1>" in as_text(approved)
    assert "maintenance_approve" not in as_text(approved)
    assert published(slack) == []  # each post waits for its time

    announce = await move_to(slack, clock, STARTS - timedelta(days=3))
    assert first_lines(announce) == dict.fromkeys(
        ("x", "mastodon"), "Planned maintenance · 10:00 PM EST"
    )
    reminder = await move_to(slack, clock, STARTS - timedelta(hours=1))
    assert first_lines(reminder) == dict.fromkeys(("x", "mastodon"), "Reminder · 9:00 PM EST")
    start = await move_to(slack, clock, STARTS)
    assert set(first_lines(start).values()) == {"Maintenance started · 10:00 PM EST"}

    # Past the end, nobody has said it is done: the planner is asked.
    assert await move_to(slack, clock, ENDS + timedelta(minutes=1)) == []
    overdue = shown(slack)[-1]
    said = as_text(overdue)
    assert "<@U0ANALYST1>, the window ended at Tue 20 Jan, 11:30 PM EST: is the work done?" in said
    assert "maintenance_complete" in said and "maintenance_cancel" not in said

    await slack.click(overdue, "maintenance_extend_60", user=ANALYST)
    [change] = await wait_for_shown(slack, 3)
    said = as_text(change)
    assert "We now expect to finish by Wed 21 Jan, 12:31 AM EST" in said
    assert "maintenance_change_approve" in said and "<@U0APPROVER1>" in said
    asked = shown(slack)[1]
    assert "asked at 11:31 PM EST to extend it by 1 hour" in as_text(asked)
    assert "maintenance_extend_60" not in as_text(asked)  # answered: no buttons left

    await slack.click(change, "maintenance_change_approve", user=APPROVER_2)
    await slack.workspace.wait_for("chat.update", count=3)
    await slack.settle()
    assert "Approved by <@U0APPROVER2>" in as_text(shown(slack)[2])
    extension = [p for p in published(slack) if p.text.startswith("Maintenance extended")]
    assert {p.network for p in extension} == {"x", "mastodon"}

    # At the new end, it is asked again; this time the work is done.
    assert await move_to(slack, clock, ENDS + timedelta(hours=1, minutes=2)) == []
    [again] = await wait_for_shown(slack, 4)
    assert "the window ended at Wed 21 Jan, 12:31 AM EST" in as_text(again)
    await slack.click(again, "maintenance_complete", user=ANALYST)
    await slack.workspace.wait_for("chat.update", count=4)
    await slack.settle()
    assert "Marked complete by <@U0ANALYST1>" in as_text(shown(slack)[3])
    complete = [p for p in published(slack) if p.text.startswith("Maintenance complete")]
    assert {p.network for p in complete} == {"x", "mastodon"}


async def test_an_approver_cannot_approve_their_own_series(timed_slack: SlackHarness) -> None:
    slack = timed_slack
    await slack.command("maintenance", user=APPROVER)
    view = await slack.open_modal()
    assert (await slack.submit(view, form(), user=APPROVER)) == (200, {})
    [review] = await wait_for_shown(slack, 1)
    await slack.click(review, "maintenance_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.postEphemeral", count=2)
    await slack.settle()
    assert OWN_SERIES in ephemeral_texts(slack.workspace, APPROVER)
    await slack.click(review, "maintenance_reject", user=APPROVER_2)
    await slack.workspace.wait_for("chat.update")
    await slack.settle()
    [rejected] = shown(slack)
    assert "Rejected by <@U0APPROVER2>" in as_text(rejected)
    assert "maintenance_approve" not in as_text(rejected)


async def test_a_series_edited_since_is_not_approved_from_its_old_message(
    timed_slack: SlackHarness,
) -> None:
    slack = timed_slack
    view = await open_form(slack)
    assert (await slack.submit(view, form(), user=ANALYST)) == (200, {})
    [old] = await wait_for_shown(slack, 1)
    desk = slack.crier.core.maintenance
    planned = await desk.view(1)
    edited = MaintenanceRequest(
        services=("Blackboard",),
        title="moving to the new servers",
        what_users_notice="",
        what_to_do="",
        window=planned.window,
        announce_at=None,
        remind_before=timedelta(hours=1),
        channels=(Network.X,),
    )
    await desk.edit(Actor("slack", ANALYST), planned.id, edited)
    [new] = await wait_for_shown(slack, 2)
    assert "moving to the new servers" in as_text(new)

    await slack.click(old, "maintenance_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.postEphemeral", count=2)
    await slack.settle()
    assert CHANGED_SINCE in ephemeral_texts(slack.workspace, APPROVER)
    assert (await desk.view(planned.id)).state == MaintenanceState.PENDING

    await slack.click(new, "maintenance_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.update")
    await slack.settle()
    assert (await desk.view(planned.id)).state == MaintenanceState.SCHEDULED


async def test_the_form_refuses_a_time_the_clocks_skip_and_no_service(
    timed_slack: SlackHarness,
) -> None:
    slack = timed_slack
    view = await open_form(slack)
    spring_forward = form(
        maintenance_start_day={"type": "datepicker", "selected_date": "2026-03-08"},
        maintenance_start_time={"type": "timepicker", "selected_time": "02:30"},
        maintenance_end_day={"type": "datepicker", "selected_date": "2026-03-08"},
        maintenance_end_time={"type": "timepicker", "selected_time": "05:00"},
    )
    status, answer = await slack.submit(view, spring_forward, user=ANALYST)
    assert status == 200 and answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["maintenance_start_time"]
    assert "02:30" in answer["errors"]["maintenance_start_time"]
    assert "does not exist" in answer["errors"]["maintenance_start_time"]

    nothing: Any = {"type": "multi_static_select", "selected_options": []}
    status, answer = await slack.submit(view, form(services=nothing), user=ANALYST)
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["services"]

    backwards = form(maintenance_end_time={"type": "timepicker", "selected_time": "21:00"})
    status, answer = await slack.submit(view, backwards, user=ANALYST)
    assert list(answer["errors"]) == ["maintenance_end_time"]
    assert shown(slack) == [] and published(slack) == []


async def wait_for_shown(slack: SlackHarness, count: int) -> list[JsonDict]:
    """Wait for the ``count``-th maintenance message; it alone, in a list."""
    await slack.settle()
    while True:
        posted = len(slack.workspace.calls_to("chat.postMessage"))  # before the look: no await
        if len(shown(slack)) >= count:
            break
        await slack.workspace.wait_for("chat.postMessage", count=posted + 1)
        await slack.settle()
    return [shown(slack)[count - 1]]
