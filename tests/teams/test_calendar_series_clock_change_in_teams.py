"""The Tech tips series in Teams across the night the clocks go forward (New York, Sunday 8 March
2026): the batch card says 10:00 AM EST on Friday and 10:00 AM EDT on Monday, and once approved
each tip goes out at 10:00 on the wall clock — 15:00 UTC on Friday, 14:00 UTC on Monday."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.clock import FakeClock
from tests.fakes.bot_connector import FakeBotConnector
from tests.teams.harness import APPROVER, TeamsHarness
from tests.teams.test_calendar_series_in_teams import (  # noqa: F401 (config: a fixture)
    BANK,
    a_conversation,
    config,
    start_drafting,
)
from tests.teams.test_maintenance_in_teams import cards_with, first_lines, run_until
from tests.teams.test_revise_and_resolve import runs


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))  # Thursday, 7:00 AM EST


async def test_tips_go_out_at_ten_on_the_wall_clock_across_the_spring_change(
    timed_teams: TeamsHarness, connector: FakeBotConnector, clock: FakeClock
) -> None:
    teams = timed_teams
    await a_conversation(teams)
    await start_drafting(teams, clock)
    [review] = cards_with(connector, "Approve all")
    shown = runs(review.cards[0])
    assert "Fri 6 Mar, 10:00 AM EST" in shown
    assert "Mon 9 Mar, 10:00 AM EDT" in shown and "Fri 13 Mar, 10:00 AM EDT" in shown
    await teams.click(review.id, "Approve all", user=APPROVER)

    friday = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 10:00 EST
    assert await run_until(teams, clock, friday - timedelta(seconds=1)) == []
    assert first_lines(await run_until(teams, clock, friday)) == {BANK[0]}
    monday = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)  # 10:00 EDT: an hour earlier in UTC
    assert await run_until(teams, clock, monday - timedelta(seconds=1)) == []
    assert first_lines(await run_until(teams, clock, monday)) == {BANK[1]}
