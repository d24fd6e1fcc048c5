"""The mood of what Crier hears: each reply or mention scored by VADER, a lexicon-based model
whose lexicon ships inside the package (nothing is downloaded, ever), then summed up per burst
and per stretch between an incident's posts ("before / after each post").

Pure: no database, no HTTP, no chat imports.

    >>> score("Wi-Fi is down AGAIN, this is terrible").label
    <MoodLabel.NEGATIVE: 'negative'>

Cost, measured on this project's machine: building the analyser (reading its ~7,500-word
lexicon) takes about 30 ms, once per process; a score takes about 80 µs for a tweet-sized text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# VADER's own thresholds on the compound score (Hutto & Gilbert, 2014).
NEGATIVE_AT_MOST = -0.05
POSITIVE_AT_LEAST = 0.05


class MoodLabel(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


# Colour alone says nothing to a screen reader or a colour-blind reader: the word goes with it.
MARKERS: dict[MoodLabel, str] = {
    MoodLabel.NEGATIVE: "🔴",
    MoodLabel.NEUTRAL: "⚪",
    MoodLabel.POSITIVE: "🟢",
}


@dataclass(frozen=True)
class Mood:
    """One text's mood: VADER's compound score, from -1 (most negative) to 1."""

    compound: float

    @property
    def label(self) -> MoodLabel:
        if self.compound <= NEGATIVE_AT_MOST:
            return MoodLabel.NEGATIVE
        if self.compound >= POSITIVE_AT_LEAST:
            return MoodLabel.POSITIVE
        return MoodLabel.NEUTRAL

    @property
    def marker(self) -> str:
        """The coloured dot for chat, e.g. "🔴"."""
        return MARKERS[self.label]

    @property
    def text(self) -> str:
        """Dot and word, e.g. "🔴 negative": what a thread shows beside a reply."""
        return f"{self.marker} {self.label.value}"


@cache
def _analyser() -> SentimentIntensityAnalyzer:
    # Built on first use, not at import: it reads its lexicon files (~30 ms), which a process
    # that never listens should not pay. ``cache`` keeps the one instance for the process.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# "@jsmith", "@jsmith@mastodon.social", "@ann.bsky.social": a name, not a feeling ("@happy_it"
# would otherwise score as happy).
_HANDLE = re.compile(r"(?<![\w@])@[\w.-]+(?:@[\w.-]+)?")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
# Where a CamelCase hashtag's words meet: "EpicFail" -> "Epic Fail", "VPNDown" -> "VPN Down".
_CAMEL_JOIN = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def scoring_text(text: str) -> str:
    """``text`` as VADER should read it: links and handles out, hashtags as their words."""
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    # A hashtag is often the whole verdict ("#EpicFail"); VADER only knows separate words.
    text = _HASHTAG.sub(lambda m: _CAMEL_JOIN.sub(" ", m.group(1)), text)
    return " ".join(text.split())


def score(text: str) -> Mood:
    """The mood of one reply or mention."""
    cleaned = scoring_text(text)
    if not cleaned:
        return Mood(0.0)
    return Mood(float(_analyser().polarity_scores(cleaned)["compound"]))


@dataclass(frozen=True)
class MoodSummary:
    """A group of moods: how many, each label's share in percent (0-100, unrounded; all 0 for
    an empty group), and the mean compound score (0 for an empty group)."""

    count: int
    negative_percent: float
    neutral_percent: float
    positive_percent: float
    mean_compound: float


def summary(moods: Iterable[Mood]) -> MoodSummary:
    moods = list(moods)
    if not moods:
        return MoodSummary(0, 0.0, 0.0, 0.0, 0.0)
    count = len(moods)
    labels = [m.label for m in moods]

    def share(label: MoodLabel) -> float:
        return 100.0 * labels.count(label) / count

    return MoodSummary(
        count=count,
        negative_percent=share(MoodLabel.NEGATIVE),
        neutral_percent=share(MoodLabel.NEUTRAL),
        positive_percent=share(MoodLabel.POSITIVE),
        mean_compound=sum(m.compound for m in moods) / count,
    )


@dataclass(frozen=True)
class MoodWindow:
    """The moods heard between two of an incident's posts: from ``starts`` (a post's time, or
    None before the first post) up to ``ends`` (the next post's time, or None after the last)."""

    starts: datetime | None
    ends: datetime | None
    after_post: int | None  # which post (0-based, in time order) opened it; None: before any
    summary: MoodSummary

    @property
    def negative_percent(self) -> float | None:
        """The share negative, or None when nothing was heard (0 % would claim calm)."""
        return self.summary.negative_percent if self.summary.count else None


def trend(heard: Iterable[tuple[datetime, Mood]], posts: Sequence[datetime]) -> list[MoodWindow]:
    """Moods before and after each post: one window before the first post, then one per post
    up to the next, every window present even when empty (so each post has its "after").

    A text heard at a post's very time counts after it. Pass one time per update, not one per
    network: the same update published to four networks seconds apart is one post here (equal
    times are merged). All datetimes aware.

        >>> [w.after_post for w in trend([], [t1, t2])]
        [None, 0, 1]
    """
    times = sorted(set(posts))
    bounds: list[datetime | None] = [None, *times, None]
    grouped: list[list[Mood]] = [[] for _ in range(len(times) + 1)]
    for at, mood in heard:
        # How many posts were out by then is the window's index.
        grouped[bisect_right(times, at)].append(mood)
    return [
        MoodWindow(
            starts=bounds[i],
            ends=bounds[i + 1],
            after_post=i - 1 if i else None,
            summary=summary(moods),
        )
        for i, moods in enumerate(grouped)
    ]
