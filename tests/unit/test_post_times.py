"""The two times set at publishing: filled in, marked, never misleading across a clock change."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.drafting.post_times import (
    MARK,
    NEXT_UPDATE,
    TIME,
    fill_times,
    format_time,
    problems,
    promise_time,
    shown,
    widest,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
JANUARY = datetime(2025, 1, 15, 19, 45, tzinfo=UTC)  # 2:45 PM EST
DRAFT = f"Update · {TIME}\nNext update by {NEXT_UPDATE}."


def test_time_in_new_york_is_est_in_january_and_edt_in_july():
    assert format_time(JANUARY, NEW_YORK) == "2:45 PM EST"
    assert format_time(datetime(2025, 7, 15, 18, 45, tzinfo=UTC), NEW_YORK) == "2:45 PM EDT"


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(0, 5, "12:05 AM"), (9, 5, "9:05 AM"), (12, 0, "12:00 PM"), (23, 59, "11:59 PM")],
)
def test_time_has_no_leading_zero_and_a_twelve_hour_clock(hour, minute, expected):
    at = datetime(2025, 1, 15, hour, minute, tzinfo=NEW_YORK)
    assert format_time(at, NEW_YORK, with_zone=False) == expected


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        format_time(datetime(2025, 1, 15, 19, 45), NEW_YORK)


def test_fill_puts_the_publish_time_and_the_promise_in_place():
    assert fill_times(DRAFT, zone=NEW_YORK, at=JANUARY, next_update_minutes=30) == (
        "Update · 2:45 PM EST\nNext update by 3:15 PM."
    )


def test_fill_leaves_every_other_word_alone_even_a_time_a_person_wrote():
    edited = "Update · 2:19 AM EST. Next update by 3:05 AM, or sooner."
    assert fill_times(edited, zone=NEW_YORK, at=JANUARY, next_update_minutes=30) == edited


# 2026-11-01 in New York: clocks go back from 2:00 AM EDT to 1:00 AM EST.
FALL_BACK_FIRST_130 = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 1:30 AM EDT
# 2026-03-08 in New York: clocks go forward from 2:00 AM EST to 3:00 AM EDT.
SPRING_FORWARD_130 = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 1:30 AM EST


def test_a_promise_across_the_autumn_change_carries_its_zone():
    text = fill_times(DRAFT, zone=NEW_YORK, at=FALL_BACK_FIRST_130, next_update_minutes=30)
    assert text == "Update · 1:30 AM EDT\nNext update by 1:00 AM EST."


def test_a_promise_across_the_spring_change_carries_its_zone():
    text = fill_times(DRAFT, zone=NEW_YORK, at=SPRING_FORWARD_130, next_update_minutes=60)
    assert text == "Update · 1:30 AM EST\nNext update by 3:30 AM EDT."


def test_a_promise_on_another_day_carries_its_weekday():
    late = datetime(2026, 12, 3, 4, 30, tzinfo=UTC)  # Wed 11:30 PM EST
    assert promise_time(late, late + timedelta(hours=1), NEW_YORK) == "Thu 12:30 AM"
    assert promise_time(late, late + timedelta(minutes=20), NEW_YORK) == "11:50 PM"


def test_london_autumn_change():
    at = datetime(2026, 10, 25, 0, 45, tzinfo=UTC)  # 1:45 AM BST
    assert promise_time(at, at + timedelta(minutes=30), LONDON) == "1:15 AM GMT"


@pytest.mark.parametrize("minutes", [5, 30, 60, 120, 24 * 60])
def test_the_widest_form_is_never_shorter_than_any_filled_form(minutes):
    width = len(widest(DRAFT, NEW_YORK))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for step in range(0, 365 * 24 * 4, 7):  # every 105 minutes through a year
        at = start + timedelta(minutes=15 * step)
        assert len(fill_times(DRAFT, zone=NEW_YORK, at=at, next_update_minutes=minutes)) <= width


def test_problems_name_a_misspelt_placeholder_and_an_unfillable_promise():
    assert problems(DRAFT, promises_update=True) == []
    assert "{tme}" in problems("Update · {tme}", promises_update=True)[0]
    assert "promises no next update" in problems(DRAFT, promises_update=False)[0]
    assert problems("{{ 7 * 7 }} errors", promises_update=False) == []


def test_shown_marks_the_times_set_at_publishing():
    text = shown(DRAFT, zone=NEW_YORK, at=JANUARY, next_update_minutes=30)
    assert text == f"Update · {MARK}2:45 PM EST\nNext update by {MARK}3:15 PM."
