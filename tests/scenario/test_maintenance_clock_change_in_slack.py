"""Story: a maintenance in New York on the night the clocks go forward (Sun 14 Mar 2027, 1:00 AM
EST to 5:00 AM EDT), planned and edited from Slack and approved there: its edit form shows the
window as it was typed, each post goes out at its own UTC instant, and each says the time as
New York reads it then, EST before the change and EDT after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.clock import FakeClock
from tests.conftest import ANALYST, APPROVER
from tests.scenario.harness import SlackHarness, as_text
from tests.scenario.test_maintenance_in_slack import (
    first_lines,
    form,
    move_to,
    open_form,
    prefilled,
    published,
    shown,
    wait_for_shown,
)

NIGHT = {"type": "datepicker", "selected_date": "2027-03-14"}
STARTS = datetime(2027, 3, 14, 6, 0, tzinfo=UTC)  # 1:00 AM EST
ENDS = datetime(2027, 3, 14, 9, 0, tzinfo=UTC)  # 5:00 AM EDT: three hours later, not four


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2027, 3, 4, 17, 0, tzinfo=UTC))  # Thu 4 Mar 2027, 12:00 PM EST


async def test_each_post_goes_out_at_its_instant_with_the_time_new_york_reads(
    timed_slack: SlackHarness, clock: FakeClock
) -> None:
    slack = timed_slack
    view = await open_form(slack)
    night = form(
        maintenance_start_day=NIGHT,
        maintenance_start_time={"type": "timepicker", "selected_time": "01:00"},
        maintenance_end_day=NIGHT,
        maintenance_end_time={"type": "timepicker", "selected_time": "04:00"},
    )
    assert (await slack.submit(view, night, user=ANALYST)) == (200, {})
    [first] = await wait_for_shown(slack, 1)

    # Edited to end at 5:00: the form shows the window in New York's time as it was typed.
    await slack.click(first, "maintenance_edit", user=ANALYST)
    edit = await slack.open_modal(count=2)
    values = prefilled(edit)
    times = [values[f"maintenance_{b}"] for b in ("start_time", "end_time")]
    assert [t["selected_time"] for t in times] == ["01:00", "04:00"]
    assert values["maintenance_end_day"]["selected_date"] == "2027-03-14"
    later = values | {"maintenance_end_time": {"type": "timepicker", "selected_time": "05:00"}}
    assert (await slack.submit(edit, later, user=ANALYST)) == (200, {})
    [review] = await wait_for_shown(slack, 2)
    await slack.workspace.wait_for("chat.update")  # the first message: edited
    said = as_text(review)
    assert "Sun 14 Mar, 1:00 AM EST to 5:00 AM EDT" in said
    for when in (
        "Announcement* · Thu 11 Mar, 1:00 AM EST",
        "Reminder* · Sun 14 Mar, 12:00 AM EST",
        "Start* · Sun 14 Mar, 1:00 AM EST",
    ):
        assert when in said, when

    await slack.click(review, "maintenance_approve", user=APPROVER)
    await slack.workspace.wait_for("chat.update", count=2)
    await slack.settle()

    # Each post at its UTC instant, not a second before.
    for at, first_line in (
        (STARTS - timedelta(days=3), "Planned maintenance · 1:00 AM EST"),
        (STARTS - timedelta(hours=1), "Reminder · 12:00 AM EST"),
        (STARTS, "Maintenance started · 1:00 AM EST"),
    ):
        assert await move_to(slack, clock, at - timedelta(seconds=1)) == []
        out = await move_to(slack, clock, at)
        assert first_lines(out) == dict.fromkeys(("x", "mastodon"), first_line)
    assert "Sun 14 Mar, 1:00 AM EST to 5:00 AM EDT" in published(slack)[0].text

    # After the change: the window's end, and the completion, in EDT.
    assert await move_to(slack, clock, ENDS - timedelta(seconds=1)) == []
    assert await move_to(slack, clock, ENDS + timedelta(minutes=2)) == []
    [overdue] = await wait_for_shown(slack, 3)
    assert "the window ended at Sun 14 Mar, 5:00 AM EDT" in as_text(overdue)
    before = len(published(slack))
    await slack.click(overdue, "maintenance_complete", user=ANALYST)
    await slack.workspace.wait_for("chat.update", count=3)
    await slack.settle()
    done = published(slack)[before:]
    assert first_lines(done) == dict.fromkeys(
        ("x", "mastodon"), "Maintenance complete · 5:02 AM EDT"
    )
    assert len(shown(slack)) == 3
