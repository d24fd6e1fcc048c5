"""A maintenance window typed on the organisation's clocks, across the days they change, and the
series of posts it makes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import InvalidInput
from bot.maintenance.window import (
    Planned,
    SeriesKind,
    Window,
    describe_window,
    local_window,
    plan_series,
    wall_clock,
)

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)


def test_a_wall_clock_time_becomes_utc_in_winter_and_summer() -> None:
    assert wall_clock(date(2026, 3, 7), time(2), NEW_YORK, what="start") == datetime(
        2026, 3, 7, 7, tzinfo=UTC
    )
    assert wall_clock(date(2026, 3, 9), time(2), NEW_YORK, what="start") == datetime(
        2026, 3, 9, 6, tzinfo=UTC
    )


def test_a_time_the_clocks_skip_is_refused_naming_the_gap() -> None:
    with pytest.raises(InvalidInput, match=r"start time 02:30 on Sun 08 Mar does not exist"):
        wall_clock(date(2026, 3, 8), time(2, 30), NEW_YORK, what="start")


def test_a_time_that_happens_twice_is_the_first() -> None:
    first = wall_clock(date(2026, 11, 1), time(1, 30), NEW_YORK, what="start")
    assert first == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 1:30 EDT, not EST
    assert first.astimezone(NEW_YORK).tzname() == "EDT"


def test_a_window_across_the_change_is_as_long_as_the_clocks_say() -> None:
    window = local_window(date(2026, 3, 8), time(1), date(2026, 3, 8), time(5), NEW_YORK)
    assert window.length == timedelta(hours=3)  # 1:00 EST to 5:00 EDT: an hour was skipped
    assert describe_window(window, NEW_YORK) == "Sun 8 Mar, 1:00 AM EST to 5:00 AM EDT"


@pytest.mark.parametrize(
    ("end_day", "end", "problem"),
    [
        (date(2026, 3, 7), time(1), "end after it starts"),
        (date(2026, 3, 20), time(6), "at most a week"),
    ],
)
def test_a_window_that_ends_before_it_starts_or_lasts_too_long_is_refused(
    end_day: date, end: time, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem):
        local_window(date(2026, 3, 7), time(2), end_day, end, NEW_YORK)


def window(days_ahead: float = 6, hours: float = 4) -> Window:
    starts = NOW + timedelta(days=days_ahead)
    return Window(starts_at=starts, ends_at=starts + timedelta(hours=hours))


def test_the_series_announces_three_days_ahead_reminds_an_hour_before_then_starts() -> None:
    w = window()
    assert plan_series(w, announce_at=None, remind_before=timedelta(hours=1), now=NOW) == [
        Planned(SeriesKind.ANNOUNCE, w.starts_at - timedelta(days=3)),
        Planned(SeriesKind.REMINDER, w.starts_at - timedelta(hours=1)),
        Planned(SeriesKind.START, w.starts_at),
        Planned(SeriesKind.COMPLETE, None),
    ]


def test_an_announcement_already_due_goes_at_once_and_a_reminder_too_close_is_left_out() -> None:
    w = window(days_ahead=0.05)  # starts in 72 minutes
    planned = plan_series(w, announce_at=None, remind_before=timedelta(hours=1), now=NOW)
    assert [p.kind for p in planned] == [SeriesKind.ANNOUNCE, SeriesKind.START, SeriesKind.COMPLETE]
    assert planned[0].due_at == NOW


@pytest.mark.parametrize(
    ("days_ahead", "announce_after", "problem"),
    [(-1, 0, "already started"), (400, 0, "a year ahead"), (6, 7, "before the window")],
)
def test_a_series_that_cannot_be_is_refused(
    days_ahead: float, announce_after: float, problem: str
) -> None:
    with pytest.raises(InvalidInput, match=problem):
        plan_series(
            window(days_ahead),
            announce_at=NOW + timedelta(days=announce_after),
            remind_before=None,
            now=NOW,
        )
