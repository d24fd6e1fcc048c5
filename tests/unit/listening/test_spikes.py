"""Spikes in mentions: 5-minute buckets, a rolling baseline with a floor, detection against
it, one alert per surge, and the alert's sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.listening.mood import Mood
from bot.listening.spikes import (
    BASELINE_FLOOR,
    BUCKET,
    DAY_OF_BUCKETS,
    Spike,
    baseline,
    bucket_start,
    count_buckets,
    detect,
    should_alert,
    spike_line,
)

TIMES = "\N{MULTIPLICATION SIGN}"  # spelled out: ruff reads the sign itself as a confusable x
NOW = datetime(2026, 3, 2, 12, 7, 31, tzinfo=UTC)
aware_times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9.5))]),
)


def test_a_bucket_starts_on_the_5_minute_mark_in_utc() -> None:
    assert bucket_start(NOW) == datetime(2026, 3, 2, 12, 5, tzinfo=UTC)
    paris = datetime(2026, 3, 2, 14, 9, 59, 999, tzinfo=timezone(timedelta(hours=2)))
    assert bucket_start(paris) == datetime(2026, 3, 2, 12, 5, tzinfo=UTC)
    assert bucket_start(paris).utcoffset() == timedelta(0)


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        bucket_start(datetime(2026, 3, 2, 12, 7))


@given(aware_times)
def test_buckets_are_aligned_and_hold_their_time(at: datetime) -> None:
    start = bucket_start(at)
    assert start.tzinfo is UTC
    assert start.minute % 5 == 0 and start.second == 0 and start.microsecond == 0
    assert start <= at < start + BUCKET
    assert bucket_start(start) == start  # already on a mark: stays


def test_mentions_are_counted_per_bucket() -> None:
    times = [NOW, NOW - timedelta(minutes=2), NOW - timedelta(minutes=3), NOW + timedelta(hours=1)]
    assert count_buckets(times) == {
        datetime(2026, 3, 2, 12, 5, tzinfo=UTC): 2,
        datetime(2026, 3, 2, 12, 0, tzinfo=UTC): 1,
        datetime(2026, 3, 2, 13, 5, tzinfo=UTC): 1,
    }


def buckets_before(until: datetime, counts: list[int]) -> dict[datetime, int]:
    """``counts`` in the buckets just before ``until``'s, the last one nearest."""
    last = bucket_start(until) - BUCKET
    return {last - i * BUCKET: n for i, n in enumerate(reversed(counts))}


def test_the_baseline_is_the_mean_over_the_previous_day_missing_buckets_zero() -> None:
    counts = buckets_before(NOW, [2] * 144)  # 2 a bucket for the last 12 hours, none before
    assert baseline(counts, until=NOW) == pytest.approx(1.0)
    assert baseline(counts, until=NOW, buckets=144) == pytest.approx(2.0)
    assert DAY_OF_BUCKETS == 288


def test_the_baseline_leaves_out_the_window_itself_and_older_history() -> None:
    counts = buckets_before(NOW, [3] * 12)
    counts[bucket_start(NOW)] = 500  # the surge being judged
    counts[bucket_start(NOW) - 13 * BUCKET] = 700  # older than the 12 buckets asked for
    assert baseline(counts, until=NOW, buckets=12) == pytest.approx(3.0)


def test_a_quiet_service_has_a_floor() -> None:
    assert baseline({}, until=NOW) == BASELINE_FLOOR
    assert baseline(buckets_before(NOW, [1, 0, 0]), until=NOW) == BASELINE_FLOOR
    assert baseline({}, until=NOW, floor=2.0) == 2.0
    with pytest.raises(ValueError):
        baseline({}, until=NOW, buckets=0)


def window(*counts: int) -> dict[datetime, int]:
    """The last buckets up to NOW's, the last one NOW's (still filling)."""
    last = bucket_start(NOW)
    return {last - i * BUCKET: n for i, n in enumerate(reversed(counts))}


ANGRY = [
    ("wifi is down again, this is terrible", Mood(-0.48)),
    ("thanks for looking into it", Mood(0.44)),
    ("I hate this, worst wifi ever", Mood(-0.85)),
    ("is the wifi down?", Mood(0.0)),
    ("wifi gone", Mood(-0.1)),
]


def test_a_surge_well_above_normal_is_a_spike() -> None:
    spike = detect("Wi-Fi", window(14, 13, 15), 1.2, now=NOW, heard=ANGRY)
    assert spike == Spike(
        service="Wi-Fi",
        posts=42,
        times_normal=12,  # 42 against 1.2 x 3 buckets = 3.6
        window_minutes=15,
        window_starts=datetime(2026, 3, 2, 11, 55, tzinfo=UTC),
        negative_percent=60.0,
        examples=(
            "I hate this, worst wifi ever",
            "wifi is down again, this is terrible",
            "wifi gone",
        ),
    )


def test_too_few_posts_or_too_little_above_normal_is_no_spike() -> None:
    assert detect("Wi-Fi", window(3, 3, 3), 0.5, now=NOW) is None  # 6x, but 9 posts
    assert detect("Wi-Fi", window(4, 3, 3), 0.5, now=NOW) is not None  # 10 posts
    assert detect("Wi-Fi", window(20, 20, 19), 5.0, now=NOW) is None  # 59 < 4 x 15
    assert detect("Wi-Fi", window(20, 20, 20), 5.0, now=NOW) is not None  # exactly 4x


def test_only_the_window_counts() -> None:
    counts = window(50, 0, 0, 0)  # a surge 20 minutes ago, outside the 15-minute window
    counts[bucket_start(NOW) + BUCKET] = 50  # and a bucket dated after now
    assert detect("Wi-Fi", counts, 0.5, now=NOW) is None
    assert detect("Wi-Fi", counts, 0.5, now=NOW, window_minutes=20) is not None


def test_the_window_is_whole_buckets() -> None:
    for minutes in (0, 3, 12):
        with pytest.raises(ValueError, match="5-minute buckets"):
            detect("Wi-Fi", {}, 1.0, now=NOW, window_minutes=minutes)
    with pytest.raises(ValueError):
        detect("Wi-Fi", {}, 0.0, now=NOW)


def test_without_moods_there_is_no_share_negative_nor_examples() -> None:
    spike = detect("VPN", window(10, 10, 10), 0.5, now=NOW)
    assert spike is not None
    assert spike.negative_percent is None and spike.examples == ()
    assert spike.times_normal == 20


def test_times_normal_rounds_half_up() -> None:
    # 27 posts against 2.0 x 3 = 6 is 4.5 times: read as 5, as people round.
    spike = detect("VPN", window(9, 9, 9), 2.0, now=NOW)
    assert spike is not None and spike.times_normal == 5


@given(
    st.lists(st.integers(0, 60), min_size=3, max_size=3),
    st.floats(0.5, 20),
    st.floats(0.5, 10),
    st.floats(0.1, 1.0),
)
def test_detection_is_monotonic(counts: list[int], usual: float, ratio: float, less: float) -> None:
    spike = detect("Wi-Fi", window(*counts), usual, now=NOW, ratio=ratio)
    if spike is None:
        return
    assert spike.posts >= 10 and spike.posts >= ratio * usual * 3
    assert spike.times_normal >= int(ratio)
    # More posts, a lower baseline or a lower ratio: still a spike.
    assert detect("Wi-Fi", window(counts[0], counts[1], counts[2] + 1), usual, now=NOW, ratio=ratio)
    assert detect("Wi-Fi", window(*counts), usual * less, now=NOW, ratio=ratio)
    assert detect("Wi-Fi", window(*counts), usual, now=NOW, ratio=ratio * less)


def test_one_surge_gives_one_alert() -> None:
    assert should_alert(None, NOW)
    alerted = NOW
    for minutes in range(1, 60):  # every poll in the next hour finds the spike still there
        assert not should_alert(alerted, NOW + timedelta(minutes=minutes))
    assert should_alert(alerted, NOW + timedelta(minutes=60))  # still going an hour on
    assert should_alert(alerted, NOW + timedelta(minutes=30), quiet_minutes=30)


def test_a_clock_a_little_behind_another_workers_does_not_alert_twice() -> None:
    assert not should_alert(NOW + timedelta(seconds=5), NOW)


def test_the_alert_sentence() -> None:
    spike = Spike(
        service="Wi-Fi",
        posts=42,
        times_normal=6,
        window_minutes=15,
        window_starts=NOW,
        negative_percent=69.6,
        examples=(),
    )
    assert spike_line(spike) == (
        f"Mentions of Wi-Fi are 6{TIMES} normal in the last 15 min (42 posts, 70 % negative)"
    )
    no_moods = Spike("VPN", 1200, 40, 20, NOW, None, ())
    assert (
        spike_line(no_moods)
        == f"Mentions of VPN are 40{TIMES} normal in the last 20 min (1,200 posts)"
    )
