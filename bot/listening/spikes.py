"""Spikes in mentions: a service named far more often than usual is often the first sign of
an outage, before anyone files a ticket.

Mentions are counted per service in 5-minute buckets; the last few buckets are held against a
rolling baseline (the mean of the day before), and a surge gives one alert, not one per poll:

    >>> spike = detect("Wi-Fi", counts, baseline(counts, until=start), now=now)
    >>> if spike and should_alert(last_alert_at, now):
    ...     print(spike_line(spike))  # "Mentions of Wi-Fi are 6 times normal in the last 15 …"

Pure: no database, no HTTP, no chat imports; the caller counts and keeps the times.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.listening.mood import Mood, summary

BUCKET = timedelta(minutes=5)
BUCKET_MINUTES = 5
DAY_OF_BUCKETS = 24 * 60 // BUCKET_MINUTES  # 288
# A quiet service's baseline is near 0, where 2 posts would read as "40 times normal": the floor.
BASELINE_FLOOR = 0.5

# Mentions per bucket, keyed by the bucket's start (UTC, on a 5-minute mark); a bucket with
# no mentions may be missing, and counts as 0.
Buckets = Mapping[datetime, int]


def bucket_start(at: datetime) -> datetime:
    """The start of the 5-minute bucket holding ``at``, in UTC: 12:07:31+02:00 -> 10:05Z."""
    if at.tzinfo is None:
        raise ValueError(f"{at!r} has no time zone: mentions are counted in UTC")
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % BUCKET_MINUTES, second=0, microsecond=0)


def count_buckets(times: Iterable[datetime]) -> dict[datetime, int]:
    """Mentions per bucket, from the times they were posted."""
    return dict(Counter(bucket_start(t) for t in times))


def baseline(
    counts_before: Buckets,
    *,
    until: datetime,
    buckets: int = DAY_OF_BUCKETS,
    floor: float = BASELINE_FLOOR,
) -> float:
    """The usual mentions per bucket: the mean over the ``buckets`` buckets before the one
    holding ``until`` (the start of the window being judged, so a surge never raises its own
    baseline), missing buckets counting 0, and never below ``floor``."""
    if buckets < 1:
        raise ValueError("a baseline needs at least one bucket")
    end = bucket_start(until)
    start = end - buckets * BUCKET
    total = sum(n for at, n in counts_before.items() if start <= bucket_start(at) < end)
    return max(total / buckets, floor)


@dataclass(frozen=True)
class Spike:
    """A service mentioned far more than usual, as an alert tells it."""

    service: str  # the service's name in crier.yml: the sentence and "Declare outage" use it
    posts: int  # mentions in the window
    times_normal: int  # posts over the baseline for the window, rounded: "6 times normal"
    window_minutes: int
    window_starts: datetime  # UTC, the first bucket's start
    negative_percent: float | None  # of the moods given; None when none were
    examples: tuple[str, ...]  # a few of the texts, the most negative first


def detect(
    service: str,
    recent_buckets: Buckets,
    baseline: float,
    *,
    now: datetime,
    ratio: float = 4.0,
    min_posts: int = 10,
    window_minutes: int = 15,
    heard: Sequence[tuple[str, Mood]] = (),
    examples: int = 3,
) -> Spike | None:
    """A spike when the last ``window_minutes`` (the buckets up to the one holding ``now``)
    hold at least ``min_posts`` mentions and at least ``ratio`` times ``baseline`` for that span;
    else None. ``heard`` is the window's texts with their moods, for the share negative and
    the examples.

    The bucket holding ``now`` is still filling: counting it makes the alert come sooner, and
    only ever errs towards seeing less of a surge, never more.
    """
    if window_minutes < BUCKET_MINUTES or window_minutes % BUCKET_MINUTES:
        raise ValueError(f"the window is whole 5-minute buckets, not {window_minutes} min")
    if ratio <= 0 or baseline <= 0:
        raise ValueError("the ratio and the baseline must be above 0")
    spans = window_minutes // BUCKET_MINUTES
    last = bucket_start(now)
    starts = last - (spans - 1) * BUCKET
    posts = sum(n for at, n in recent_buckets.items() if starts <= bucket_start(at) <= last)
    usual = baseline * spans
    if posts < min_posts or posts < ratio * usual:
        return None
    by_mood = sorted(heard, key=lambda item: item[1].compound)
    moods = summary(mood for _, mood in heard)
    return Spike(
        service=service,
        posts=posts,
        times_normal=_rounded(posts / usual),
        window_minutes=window_minutes,
        window_starts=starts,
        negative_percent=moods.negative_percent if moods.count else None,
        examples=tuple(text for text, _ in by_mood[:examples]),
    )


def _rounded(value: float) -> int:
    # Half up, not Python's half-to-even: 4.5 times normal reads as 5, as people round.
    return math.floor(value + 0.5)


def should_alert(
    previous_alert_at: datetime | None, now: datetime, *, quiet_minutes: int = 60
) -> bool:
    """Whether a spike seen ``now`` is alerted: not within ``quiet_minutes`` of the service's
    previous alert, so one surge gives one alert, not one every poll. A surge still going an
    hour on is alerted again, as a reminder. A previous alert dated after ``now`` (another
    worker's clock a little ahead) counts as just now."""
    if previous_alert_at is None:
        return True
    return now - previous_alert_at >= timedelta(minutes=quiet_minutes)


def spike_line(spike: Spike) -> str:
    """The alert's sentence, plain text (each chat renders and escapes it its own way), e.g.
    "Mentions of Wi-Fi are 6 times normal…", written with the multiplication sign "6\u00d7"."""
    posts = f"{spike.posts:,} {'post' if spike.posts == 1 else 'posts'}"
    if spike.negative_percent is not None:
        posts += f", {_rounded(spike.negative_percent)} % negative"
    return (
        f"Mentions of {spike.service} are {spike.times_normal}\N{MULTIPLICATION SIGN} normal "
        f"in the last {spike.window_minutes} min ({posts})"
    )
