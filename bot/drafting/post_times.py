"""The two times a public post carries, set when it is published, never before.

A draft holds them as placeholders, ``{time}`` (when the post goes public: "2:45 PM EST") and
``{next_update}`` (when the next update is promised: "3:15 PM"). They are the only parts of an
approved text that Crier fills in: everything else goes out exactly as the approver saw it. A
person editing a draft sees the placeholders too, and may delete them or write a time of their
own, which is then left alone.

    >>> fill_times("Update · {time}. Next by {next_update}.", zone=ZoneInfo("UTC"),
    ...            at=datetime(2026, 1, 5, 14, 45, tzinfo=UTC), next_update_minutes=30)
    'Update · 2:45 PM UTC. Next by 3:15 PM.'
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

TIME = "{time}"
NEXT_UPDATE = "{next_update}"
PLACEHOLDERS = (TIME, NEXT_UPDATE)

# Anything that looks like a placeholder, to catch a misspelt one ("{tme}") in an edit.
_PLACEHOLDER_LIKE = re.compile(r"\{[A-Za-z_ ]{1,30}\}")
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))


def format_time(at: datetime, zone: ZoneInfo, *, with_zone: bool = True) -> str:
    """``at`` as a reader in ``zone`` would say it: ``"2:45 PM EST"``, or ``"2:45 PM"``."""
    if at.utcoffset() is None:
        raise ValueError("format_time needs an aware datetime (UTC), not a naive one")
    local = at.astimezone(zone)
    # Built by hand: strftime's "%-I" (no leading zero) is not portable.
    clock = f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    return f"{clock} {local.tzname()}" if with_zone else clock


def format_duration(delta: timedelta) -> str:
    """A wait as a person says it: "5 minutes", "1 hour 40 minutes", "26 hours", "3 days"."""
    minutes = max(int(delta.total_seconds() // 60), 0)

    def count(n: int, unit: str) -> str:
        return f"{n} {unit}" if n == 1 else f"{n} {unit}s"

    if minutes < 60:
        return count(minutes, "minute")
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        if hours >= 10 or rest == 0:  # "26 hours": minutes no longer matter
            return count(hours, "hour")
        return f"{count(hours, 'hour')} {count(rest, 'minute')}"
    return count(hours // 24, "day")


def promise_time(published: datetime, promised: datetime, zone: ZoneInfo) -> str:
    """The next-update time as it reads beside a post published at ``published``.

    Just the clock when both are on the same local day and side of a clock change ("3:15 PM");
    with the zone when a clock change lies between them ("1:00 AM EST" after "1:30 AM EDT"), so
    it never reads as earlier than the post; with the weekday when it is another local day
    ("Tue 8:00 AM").
    """
    here, there = published.astimezone(zone), promised.astimezone(zone)
    text = format_time(promised, zone, with_zone=here.tzname() != there.tzname())
    if there.date() != here.date():
        text = f"{there:%a} {text}"
    return text


def fill_times(text: str, *, zone: ZoneInfo, at: datetime, next_update_minutes: int | None) -> str:
    """``text`` as published at ``at``: each placeholder replaced by its time.

    A ``{next_update}`` without a promise (``next_update_minutes`` None) cannot be filled; drafts
    never hold one (``problems`` refuses it), so it would only come from a template mistake.
    """
    values = {TIME: format_time(at, zone)}
    if next_update_minutes is not None:
        values[NEXT_UPDATE] = promise_time(at, at + timedelta(minutes=next_update_minutes), zone)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(), m.group()), text)


def widest(text: str, zone: ZoneInfo) -> str:
    """``text`` with each placeholder as wide as its time can ever be, for length checks.

    Counting this instead of the placeholders means a text that fits now still fits whenever it
    is published: "12:00 PM" is the widest clock, and the promise may gain a weekday and a zone.
    """
    zone_name = "W" * _widest_zone_name(zone.key)
    values = {TIME: f"12:00 PM {zone_name}", NEXT_UPDATE: f"Wed 12:00 PM {zone_name}"}
    return _PLACEHOLDER.sub(lambda m: values[m.group()], text)


def has_placeholder(text: str) -> bool:
    return _PLACEHOLDER.search(text) is not None


def problems(text: str, *, promises_update: bool) -> list[str]:
    """What is wrong with the placeholders of a person's text, as sentences for them."""
    found: list[str] = []
    unknown = sorted({m.group() for m in _PLACEHOLDER_LIKE.finditer(text)} - set(PLACEHOLDERS))
    if unknown:
        found.append(
            f"{', '.join(unknown)} is not something Crier fills in: use {TIME} or "
            f"{NEXT_UPDATE}, or write the text out"
        )
    if NEXT_UPDATE in text and not promises_update:
        found.append(f"this post promises no next update, so {NEXT_UPDATE} cannot be filled in")
    return found


@functools.lru_cache(maxsize=64)
def _widest_zone_name(zone_key: str) -> int:
    """The longest abbreviation the zone uses around now ("EST"/"EDT": 3, "+1030": 5)."""
    zone = ZoneInfo(zone_key)
    year = datetime.now(UTC).year
    samples = (
        datetime(y, m, 15, 12, tzinfo=UTC) for y in (year - 1, year, year + 1) for m in range(1, 13)
    )
    return max(len(s.astimezone(zone).tzname() or "") for s in samples)


MARK = "⏱"  # shown before a time set at publishing, in every chat's preview of a draft
LEGEND = f"{MARK} marks a time set when the post goes out (shown as if it went out now)."


def shown(text: str, *, zone: ZoneInfo, at: datetime, next_update_minutes: int | None) -> str:
    """A draft as a chat shows it: as it would go out at ``at``, each time set at publishing
    marked with ``MARK`` ("Update · ⏱2:45 PM EST"), so an approver knows which parts move."""
    marked = _PLACEHOLDER.sub(lambda m: MARK + m.group(), text)
    return fill_times(marked, zone=zone, at=at, next_update_minutes=next_update_minutes)


EDIT_HINT = (
    f"{TIME} becomes the time the post goes out and {NEXT_UPDATE} the next update it promises. "
    "Delete them, or write a time of your own: Crier changes nothing else you write."
)
