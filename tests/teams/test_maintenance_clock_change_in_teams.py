"""Planned maintenance in Teams on the night New York's clocks go forward (Sun 14 Mar 2027,
1:00 AM EST to 5:00 AM EDT): planned and edited on the form card, approved on the series' card;
the edit form shows the window as it was typed, each post goes out at its own UTC instant, and
each says the time as New York reads it then, EST before the change and EDT after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.clock import FakeClock
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.harness import ANALYST, APPROVER, TeamsHarness, texts
from tests.teams.test_maintenance_in_teams import (
    PLANNER,
    WORK,
    cards_with,
    first_lines,
    open_form,
    outbox,
    run_until,
)
from tests.teams.test_revise_and_resolve import inputs_of, runs

NIGHT = {"start_day": "2027-03-14", "start_time": "01:00", "end_day": "2027-03-14"}
STARTS = datetime(2027, 3, 14, 6, 0, tzinfo=UTC)  # 1:00 AM EST
ENDS = datetime(2027, 3, 14, 9, 0, tzinfo=UTC)  # 5:00 AM EDT: three hours later, not four


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2027, 3, 4, 17, 0, tzinfo=UTC))  # Thu 4 Mar 2027, 12:00 PM EST


async def test_each_post_goes_out_at_its_instant_with_the_time_new_york_reads(
    timed_teams: TeamsHarness, connector: FakeBotConnector, clock: FakeClock
) -> None:
    teams = timed_teams
    form_id, form = await open_form(teams, PLANNER)
    inputs = inputs_of(form) | WORK | NIGHT | {"end_time": "04:00"}
    await teams.click(form_id, "Plan maintenance", user=PLANNER, inputs=inputs)
    await run_until(teams, clock, clock.now())
    [first] = cards_with(connector, "Approve all")

    # Edited to end at 5:00: the form shows the window in New York's time as it was typed.
    edit = await teams.click(first.id, "Edit", user=PLANNER)
    filled = inputs_of(edit)
    assert filled | NIGHT | {"end_time": "04:00"} == filled
    later = filled | {"end_time": "05:00"}
    await teams.click(first.id, "Save changes", user=PLANNER, inputs=later, card=edit)
    await run_until(teams, clock, clock.now())
    *_, review = cards_with(connector, "Approve all")
    shown = runs(review.cards[0])
    assert "Sun 14 Mar, 1:00 AM EST to 5:00 AM EDT" in shown
    for kind, goes_out in (
        ("Announcement", " · Thu 11 Mar, 1:00 AM EST"),
        ("Reminder", " · Sun 14 Mar, 12:00 AM EST"),
        ("Start", " · Sun 14 Mar, 1:00 AM EST"),
    ):
        assert shown[shown.index(kind) + 1] == goes_out
    await teams.click(review.id, "Approve all", user=APPROVER)

    # Each post at its UTC instant, not a second before.
    for at, first_line in (
        (STARTS - timedelta(days=3), "Planned maintenance · 1:00 AM EST"),
        (STARTS - timedelta(hours=1), "Reminder · 12:00 AM EST"),
        (STARTS, "Maintenance started · 1:00 AM EST"),
    ):
        assert await run_until(teams, clock, at - timedelta(seconds=1)) == []
        out = await run_until(teams, clock, at)
        assert first_lines(out) == {first_line} and len(out) == 4
    assert "Sun 14 Mar, 1:00 AM EST to 5:00 AM EDT" in outbox(teams)[0].text

    # After the change: the window's end, and the completion, in EDT.
    assert await run_until(teams, clock, ENDS - timedelta(seconds=1)) == []
    assert await run_until(teams, clock, ENDS + timedelta(minutes=2)) == []
    [overdue] = cards_with(connector, "Complete")
    assert "The window ended at Sun 14 Mar, 5:00 AM EDT" in texts(overdue.cards[0])
    before = len(outbox(teams))
    await teams.click(overdue.id, "Complete", user=ANALYST)
    await teams.settle()
    done = outbox(teams)[before:]
    assert first_lines(done) == {"Maintenance complete · 5:02 AM EDT"} and len(done) == 4
