"""Story: an analyst plans a maintenance with `/outage maintenance`; an approver (not the analyst)
approves its whole series; each post goes out at its time; past the end Crier asks whether the
work is done; an extension is asked for and approved; *Complete* publishes the completion. And
the form refuses a start the clocks skip, and a maintenance of no service. From its message, a
maintenance is edited (the form filled in with it as it is; the series drafted and approved
again) or cancelled (at once before its announcement, else by an approved cancellation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.config import Network
from bot.maintenance.desk import NOT_AN_APPROVER, NOT_YOURS, OWN_SERIES
from bot.maintenance.series import CHANGED_SINCE, MaintenanceRequest
from bot.ports import Actor
from bot.storage.models import MaintenanceState, OutboxPost
from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER, APPROVER_2, COMMS, OUTSIDER
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


def prefilled(view: JsonDict) -> dict[str, JsonDict]:
    """A form's inputs as Slack would send them untouched: the values it was opened with."""
    values: dict[str, JsonDict] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind = element["type"]
        state: JsonDict = {"type": kind}
        if kind == "plain_text_input":
            state = text_input(element.get("initial_value", ""))
        elif kind in ("multi_static_select", "checkboxes"):
            state["selected_options"] = element.get("initial_options", [])
        elif kind == "static_select":
            state["selected_option"] = element.get("initial_option")
        elif kind == "datepicker":
            state["selected_date"] = element.get("initial_date")
        elif kind == "timepicker":
            state["selected_time"] = element.get("initial_time")
        values[block["block_id"]] = state
    return values


async def plan_and_approve(slack: SlackHarness) -> tuple[JsonDict, JsonDict]:
    """The form's maintenance, approved: its message before the approval, and after."""
    view = await open_form(slack)
    assert (await slack.submit(view, form(), user=ANALYST)) == (200, {})
    [review] = await wait_for_shown(slack, 1)
    await slack.click(review, "maintenance_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.update")
    await slack.settle()
    return review, shown(slack)[0]


async def told(slack: SlackHarness, user: str, count: int) -> list[str]:
    """What ``user`` was told, once it is ``count`` ephemeral messages (all users')."""
    await slack.workspace.wait_for("chat.postEphemeral", count=count)
    await slack.settle()
    return ephemeral_texts(slack.workspace, user)


async def test_a_scheduled_maintenance_edited_from_its_message_goes_out_at_its_new_times(
    timed_slack: SlackHarness, clock: FakeClock
) -> None:
    slack = timed_slack
    review, approved = await plan_and_approve(slack)
    said = as_text(approved)
    assert "maintenance_edit" in said and "maintenance_cancel" in said

    # Someone who neither planned it nor approves is refused before any form opens.
    await slack.click(approved, "maintenance_edit", user=OUTSIDER)
    assert NOT_YOURS in await told(slack, OUTSIDER, 2)
    assert len(slack.workspace.calls_to("views.open")) == 1

    # The planner's form shows the maintenance as it is, in New York's time.
    await slack.click(approved, "maintenance_edit", user=ANALYST)
    view = await slack.open_modal(count=2)
    assert view["callback_id"] == "maintenance_edit_form"
    values = prefilled(view)
    typed = form()
    for block in ("title", "what_users_notice", "what_to_do", "maintenance_start_day"):
        assert values[block] == typed[block], block
    for block in ("maintenance_start_time", "maintenance_end_day", "maintenance_end_time"):
        assert values[block] == typed[block], block
    picked = {
        b: [o["value"] for o in values[b]["selected_options"]] for b in ("services", "channels")
    }
    assert picked == {"services": ["Blackboard"], "channels": ["x", "mastodon"]}
    chosen = {
        b: values[b]["selected_option"]["value"]
        for b in ("maintenance_announce", "maintenance_remind")
    }
    assert chosen == {"maintenance_announce": "3d", "maintenance_remind": "60"}

    # Two days later: Thu 22 Jan, 10:00-11:30 PM EST.
    later = {"type": "datepicker", "selected_date": "2026-01-22"}
    moved = values | {"maintenance_start_day": later, "maintenance_end_day": later}
    assert (await slack.submit(view, moved, user=ANALYST)) == (200, {})
    [new] = await wait_for_shown(slack, 2)
    said = as_text(new)
    for when in (
        "Announcement* · Mon 19 Jan, 10:00 PM EST",
        "Reminder* · Thu 22 Jan, 9:00 PM EST",
        "Start* · Thu 22 Jan, 10:00 PM EST",
    ):
        assert when in said, when
    assert "<@U0APPROVER1>" in said and "maintenance_approve" in said
    assert "is drafted again" in (await told(slack, ANALYST, 2))[-1]
    await slack.workspace.wait_for("chat.update", count=2)
    await slack.settle()
    said = as_text(shown(slack)[0])  # the message it was edited from says so
    assert "Edited by <@U0ANALYST1> at 2:45 PM EST" in said
    assert "Thu 22 Jan, 10:00 PM to 11:30 PM EST" in said and "maintenance_approve" not in said

    # The first series' message approves nothing now: it showed another revision.
    await slack.click(review, "maintenance_approve", user=APPROVER_2)
    assert CHANGED_SINCE in await told(slack, APPROVER_2, 3)
    desk = slack.crier.core.maintenance
    assert (await desk.view(1)).state == MaintenanceState.PENDING

    await slack.click(new, "maintenance_approve", user=APPROVER_2)
    await slack.workspace.wait_for("chat.update", count=3)
    await slack.settle()
    assert (await desk.view(1)).state == MaintenanceState.SCHEDULED

    # The old announcement's time passes with nothing; each post goes out at its new time.
    assert await move_to(slack, clock, STARTS - timedelta(days=3)) == []
    starts = STARTS + timedelta(days=2)
    announce = await move_to(slack, clock, starts - timedelta(days=3))
    assert first_lines(announce) == dict.fromkeys(
        ("x", "mastodon"), "Planned maintenance · 10:00 PM EST"
    )
    assert "unavailable on Thu 22 Jan, 10:00 PM to 11:30 PM EST" in announce[0].text
    reminder = await move_to(slack, clock, starts - timedelta(hours=1))
    assert set(first_lines(reminder).values()) == {"Reminder · 9:00 PM EST"}
    start = await move_to(slack, clock, starts)
    assert set(first_lines(start).values()) == {"Maintenance started · 10:00 PM EST"}

    # Begun: no edit any more (told to the clicker only).
    await slack.click(shown(slack)[1], "maintenance_edit", user=ANALYST)
    assert (await told(slack, ANALYST, 4))[-1] == "This maintenance is in progress."
    assert len(slack.workspace.calls_to("views.open")) == 2


async def test_a_maintenance_cancelled_before_its_announcement_says_nothing_in_public(
    timed_slack: SlackHarness, clock: FakeClock
) -> None:
    slack = timed_slack
    _, approved = await plan_and_approve(slack)
    [cancel] = [
        b
        for block in approved["blocks"]
        if block["type"] == "actions"
        for b in block["elements"]
        if b["action_id"] == "maintenance_cancel"
    ]
    assert cancel["confirm"]["title"]["text"] == "Cancel this maintenance?"  # Slack asks first

    await slack.click(approved, "maintenance_cancel", user=OUTSIDER)
    assert NOT_YOURS in await told(slack, OUTSIDER, 2)
    await slack.click(approved, "maintenance_cancel", user=APPROVER_2)  # an approver may
    await slack.workspace.wait_for("chat.update", count=2)
    await slack.settle()
    [cancelled] = shown(slack)
    said = as_text(cancelled)
    assert "Cancelled by <@U0APPROVER2>" in said and "none of its posts will go out" in said
    assert "maintenance_edit" not in said and "maintenance_cancel" not in said
    assert (await slack.crier.core.maintenance.view(1)).state == MaintenanceState.CANCELLED
    assert await move_to(slack, clock, ENDS + timedelta(hours=1)) == []
    assert len(shown(slack)) == 1  # nobody is asked about its window's end


async def test_a_maintenance_cancelled_after_its_announcement_publishes_an_approved_cancellation(
    timed_slack: SlackHarness, clock: FakeClock
) -> None:
    slack = timed_slack
    _, approved = await plan_and_approve(slack)
    assert len(await move_to(slack, clock, STARTS - timedelta(days=3))) == 2  # announced

    await slack.click(approved, "maintenance_cancel", user=ANALYST)
    [change] = await wait_for_shown(slack, 2)
    said = as_text(change)
    assert "Maintenance cancelled · ⏱" in said
    assert "will not take place" in said
    assert "maintenance_change_approve" in said and "<@U0APPROVER1>" in said
    asked = as_text(shown(slack)[0])
    assert "asked at 10:00 PM EST to call it off" in asked
    desk = slack.crier.core.maintenance
    assert (await desk.view(1)).state == MaintenanceState.SCHEDULED  # until it is approved
    assert published(slack)[2:] == []

    await slack.click(change, "maintenance_change_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.update", count=3)
    await slack.settle()
    assert "Approved by <@U0APPROVER1>" in as_text(shown(slack)[1])
    out = published(slack)[2:]
    assert first_lines(out) == dict.fromkeys(
        ("x", "mastodon"), "Maintenance cancelled · 10:00 PM EST"
    )
    assert (await desk.view(1)).state == MaintenanceState.CANCELLED
    assert await move_to(slack, clock, ENDS + timedelta(hours=1)) == []  # no reminder, no start
