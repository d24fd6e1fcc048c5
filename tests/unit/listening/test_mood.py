"""The mood of what Crier hears: VADER's score, its labels and markers, links and handles
left out, a burst summed up, and the trend before and after each post."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.listening.mood import (
    Mood,
    MoodLabel,
    score,
    scoring_text,
    summary,
    trend,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_angry_replies_are_negative_and_thanks_are_positive() -> None:
    angry = score("Wi-Fi is down AGAIN and nobody tells us anything, this is terrible")
    thanks = score("Thanks for the quick update, much appreciated!")
    plain = score("The Duo prompt is at the login page")
    assert angry.label is MoodLabel.NEGATIVE and angry.compound < -0.4
    assert thanks.label is MoodLabel.POSITIVE and thanks.compound > 0.4
    assert plain.label is MoodLabel.NEUTRAL


@pytest.mark.parametrize(
    ("compound", "label", "marker"),
    [
        (-1.0, MoodLabel.NEGATIVE, "🔴"),
        (-0.05, MoodLabel.NEGATIVE, "🔴"),  # VADER's own threshold is inclusive
        (-0.0499, MoodLabel.NEUTRAL, "⚪"),
        (0.0, MoodLabel.NEUTRAL, "⚪"),
        (0.0499, MoodLabel.NEUTRAL, "⚪"),
        (0.05, MoodLabel.POSITIVE, "🟢"),
        (1.0, MoodLabel.POSITIVE, "🟢"),
    ],
)
def test_labels_follow_vaders_thresholds(compound: float, label: MoodLabel, marker: str) -> None:
    mood = Mood(compound)
    assert mood.label is label
    assert mood.marker == marker
    # The word goes with the colour, for screen readers and colour-blind readers.
    assert mood.text == f"{marker} {label.value}"


def test_links_and_handles_add_nothing() -> None:
    assert score("https://happy.example.com/great/wonderful?love=yes").compound == 0.0
    assert score("@happy_helpdesk @love@mastodon.social").compound == 0.0
    assert score("www.awesome.example").compound == 0.0
    sad = "the VPN keeps failing"
    assert score(f"@great_it {sad} https://status.example.edu/best-news").compound == pytest.approx(
        score(sad).compound
    )


def test_hashtags_are_read_as_their_words() -> None:
    assert scoring_text("#EpicFail again #VPNDown") == "Epic Fail again VPN Down"
    assert score("#EpicFail").label is MoodLabel.NEGATIVE
    assert score("#fail").label is MoodLabel.NEGATIVE
    # An e-mail address and "C#" are not hashtags or handles to take apart.
    assert (
        scoring_text("write to help@example.edu about C#") == "write to help@example.edu about C#"
    )


def test_empty_or_link_only_text_is_neutral() -> None:
    for text in ("", "   ", "https://example.com", "@someone"):
        mood = score(text)
        assert mood.compound == 0.0 and mood.label is MoodLabel.NEUTRAL


def test_a_score_is_cheap_once_the_lexicon_is_read() -> None:
    score("warm up")  # the analyser is built once, on first use
    texts = [f"reply {i}: the Duo prompt keeps timing out and I cannot log in" for i in range(200)]
    started = time.perf_counter()
    for text in texts:
        score(text)
    per_score = (time.perf_counter() - started) / len(texts)
    # About 80 µs here; a generous bound so a busy shared machine does not fail it.
    assert per_score < 0.005


@given(st.text(max_size=280))
def test_any_text_scores_between_minus_one_and_one(text: str) -> None:
    mood = score(text)
    assert -1.0 <= mood.compound <= 1.0
    assert mood.label in set(MoodLabel)


def test_summary_gives_shares_in_percent_and_the_mean() -> None:
    moods = [Mood(-0.8), Mood(-0.4), Mood(-0.1), Mood(0.0), Mood(0.6)]
    got = summary(moods)
    assert got.count == 5
    assert got.negative_percent == pytest.approx(60.0)
    assert got.neutral_percent == pytest.approx(20.0)
    assert got.positive_percent == pytest.approx(20.0)
    assert got.mean_compound == pytest.approx(-0.14)


def test_summary_of_nothing_is_zeros() -> None:
    got = summary([])
    assert got.count == 0
    assert (got.negative_percent, got.neutral_percent, got.positive_percent) == (0.0, 0.0, 0.0)
    assert got.mean_compound == 0.0


def test_summary_takes_a_generator() -> None:
    assert summary(Mood(c) for c in (-0.5, 0.5)).negative_percent == pytest.approx(50.0)


@given(st.lists(st.floats(min_value=-1, max_value=1), max_size=50))
def test_shares_add_up_to_100(compounds: list[float]) -> None:
    got = summary(Mood(c) for c in compounds)
    total = got.negative_percent + got.neutral_percent + got.positive_percent
    assert total == pytest.approx(100.0 if compounds else 0.0)
    assert -1.0 <= got.mean_compound <= 1.0


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_trend_splits_moods_at_each_post() -> None:
    first, second = at(10), at(40)
    heard = [
        (at(0), Mood(-0.6)),  # before the first post: the outage as people felt it
        (at(5), Mood(-0.7)),
        (at(10), Mood(0.4)),  # at the post's very time: an answer to it
        (at(20), Mood(-0.5)),
        (at(30), Mood(0.3)),
        (at(39), Mood(0.0)),
        (at(45), Mood(0.5)),
    ]
    windows = trend(heard, [second, first])  # in any order
    assert [(w.starts, w.ends, w.after_post) for w in windows] == [
        (None, first, None),
        (first, second, 0),
        (second, None, 1),
    ]
    assert [w.summary.count for w in windows] == [2, 4, 1]
    assert [w.negative_percent for w in windows] == [100.0, 25.0, 0.0]


def test_every_post_has_its_after_window_even_when_nothing_was_heard() -> None:
    windows = trend([(at(1), Mood(-0.9))], [at(10), at(20)])
    assert [w.summary.count for w in windows] == [1, 0, 0]
    # Nothing heard is not "0 % negative": it is no figure at all.
    assert [w.negative_percent for w in windows] == [100.0, None, None]


def test_the_same_update_on_several_networks_is_one_post() -> None:
    windows = trend([(at(5), Mood(-0.9))], [at(3), at(3)])
    assert len(windows) == 2


def test_with_no_posts_everything_is_before() -> None:
    windows = trend([(at(1), Mood(-0.9)), (at(2), Mood(0.9))], [])
    assert len(windows) == 1
    assert windows[0].after_post is None and windows[0].summary.count == 2


@given(
    st.lists(st.tuples(st.integers(0, 500), st.floats(-1, 1)), max_size=40),
    st.lists(st.integers(0, 500), max_size=6),
)
def test_trend_loses_and_doubles_nothing(heard: list[tuple[int, float]], posts: list[int]) -> None:
    windows = trend([(at(m), Mood(c)) for m, c in heard], [at(m) for m in posts])
    assert len(windows) == len(set(posts)) + 1
    assert sum(w.summary.count for w in windows) == len(heard)
    for window in windows:  # each holds what was heard from its start up to its end
        within = [
            m
            for m, _ in heard
            if (window.starts is None or window.starts <= at(m))
            and (window.ends is None or at(m) < window.ends)
        ]
        assert window.summary.count == len(within)
    assert [w.ends for w in windows[:-1]] == [w.starts for w in windows[1:]]
