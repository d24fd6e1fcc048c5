"""When a maintenance's posts go out: the window people typed in the organisation's zone, as
UTC, and the series it makes (announce, remind, start; complete when someone says so).

People type wall-clock times. On the days the clocks change, one hour of wall-clock time does not
exist (clocks go forward: 02:30 is never read on a clock in New York on 8 March 2026) and one
happens twice (clocks go back). A time that does not exist is refused, naming the gap; a time that
happens twice is the first of the two, and the series says so in its times (each shows its zone
abbreviation, EDT or EST).

    window = local_window(date(2026, 3, 7), time(2), date(2026, 3, 7), time(6), zone)
    plan_series(window, announce_at=..., remind_before=timedelta(hours=1), now=now)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.drafting.post_times import format_time
from bot.errors import InvalidInput

LONGEST_WINDOW = timedelta(days=7)
FURTHEST_AHEAD = timedelta(days=366)
# A reminder closer than this to the announcement (or the start) says nothing new: left out.
REMINDER_ROOM = timedelta(minutes=15)
DEFAULT_NOTICE = timedelta(days=3)  # the announcement, before the window, by default


class SeriesKind(StrEnum):
    """The posts of a series; each its own template folder (``templates/<kind>/``)."""

    ANNOUNCE = "maintenance_announce"
    REMINDER = "maintenance_reminder"
    START = "maintenance_start"
    COMPLETE = "maintenance_complete"
    EXTENDED = "maintenance_extended"
    CANCELLED = "maintenance_cancelled"


@dataclass(frozen=True)
class Window:
    starts_at: datetime  # UTC
    ends_at: datetime

    @property
    def length(self) -> timedelta:
        return self.ends_at - self.starts_at


@dataclass(frozen=True)
class Planned:
    kind: SeriesKind
    due_at: datetime | None  # UTC; None: when someone marks the work complete


def wall_clock(day: date, at: time, zone: ZoneInfo, *, what: str) -> datetime:
    """``day`` at ``at`` on the organisation's clocks, in UTC; InvalidInput if that time does
    not exist there (the hour skipped when the clocks go forward)."""
    local = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        before = datetime.combine(day, at, tzinfo=zone).replace(fold=0)
        raise InvalidInput(
            f"The {what} time {at:%H:%M} on {day:%a %d %b} does not exist in "
            f"{zone.key}: the clocks go forward then (from {before.tzname()}). "
            "Pick a time an hour later or earlier."
        )
    return utc


def local_window(start_day: date, start: time, end_day: date, end: time, zone: ZoneInfo) -> Window:
    """The window people typed, checked: it ends after it starts, within a week."""
    window = Window(
        starts_at=wall_clock(start_day, start, zone, what="start"),
        ends_at=wall_clock(end_day, end, zone, what="end"),
    )
    if window.ends_at <= window.starts_at:
        raise InvalidInput("The window must end after it starts.")
    if window.length > LONGEST_WINDOW:
        raise InvalidInput("A maintenance window is at most a week long; plan two windows.")
    return window


def plan_series(
    window: Window,
    *,
    announce_at: datetime | None,
    remind_before: timedelta | None,
    now: datetime,
) -> list[Planned]:
    """The series' posts and when each goes out. The announcement goes at ``announce_at``
    (default: three days before; at once, after approval, if that is already past); the
    reminder ``remind_before`` the start, if that leaves room after the announcement."""
    if window.starts_at <= now:
        raise InvalidInput("The window has already started: plan one that starts later.")
    if window.starts_at - now > FURTHEST_AHEAD:
        raise InvalidInput("A maintenance window is planned at most a year ahead.")
    announce = announce_at if announce_at is not None else window.starts_at - DEFAULT_NOTICE
    if announce >= window.starts_at:
        raise InvalidInput("The announcement must go out before the window starts.")
    announce = max(announce, now)
    series = [Planned(SeriesKind.ANNOUNCE, announce)]
    if remind_before:
        reminder = window.starts_at - remind_before
        if reminder - announce >= REMINDER_ROOM and remind_before >= REMINDER_ROOM:
            series.append(Planned(SeriesKind.REMINDER, reminder))
    series += [Planned(SeriesKind.START, window.starts_at), Planned(SeriesKind.COMPLETE, None)]
    return series


def describe_window(window: Window, zone: ZoneInfo) -> str:
    """ "Sat 7 Mar, 2:00 AM to 6:00 AM EST", the day repeated when it ends on another."""
    start, end = window.starts_at.astimezone(zone), window.ends_at.astimezone(zone)
    first = f"{start:%a} {start.day} {start:%b}, {format_time(start, zone, with_zone=False)}"
    last = format_time(end, zone)
    if end.date() != start.date():
        last = f"{end:%a} {end.day} {end:%b}, {last}"
    elif start.tzname() != end.tzname():  # the clocks change within the window
        first = f"{first} {start.tzname()}"
    return f"{first} to {last}"
