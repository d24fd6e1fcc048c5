"""Cutting a person's phrase short without breaking it: at a word, never inside a link, a
mention, a hashtag or a grapheme cluster (an emoji sequence, a letter with its accents).

    >>> prefixes("the sign-in page shows an error")[:3]
    ['the…', 'the sign-in…', 'the sign-in page…']

Text without spaces between words (Chinese, Japanese) may be cut between any two of its
ideographs or kana, as those languages wrap and abbreviate.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import accumulate, pairwise

import grapheme

ELLIPSIS = "…"

# Punctuation that would dangle before the ellipsis: "cannot log in, …" reads as "cannot log in…".
_DANGLING = ",;:-\u2013\u2014([{\"'\u201c\u2018 "  # dashes, opening quotes
# A token that must stay whole: a link, a mention or a hashtag (no spaces inside any of them).
_WHOLE = re.compile(r"^(?:https?://|www\.|[@#\uff03])", re.IGNORECASE)  # U+FF03: a wide hash


def prefixes(text: str) -> list[str]:
    """Every shortened form of ``text``, shortest first, each ending in "…" (the whole text,
    uncut, is not among them). Empty when ``text`` cannot be cut at all (a single link)."""
    shortened: list[str] = []
    for cut in _cut_points(text):
        head = text[:cut].rstrip(_DANGLING)
        if head and head != text and (not shortened or shortened[-1] != head + ELLIPSIS):
            shortened.append(head + ELLIPSIS)
    return shortened


def _cut_points(text: str) -> list[int]:
    """Offsets where ``text`` may end: before each space, and between two wide characters."""
    points: list[int] = []
    position = 0
    for token in re.split(r"(\s+)", text):
        if token.isspace():
            points.append(position)
        elif not _WHOLE.match(token):
            points.extend(position + offset for offset in _wide_breaks(token))
        position += len(token)
    return sorted(set(p for p in points if 0 < p < len(text)))


def _wide_breaks(token: str) -> list[int]:
    """Offsets inside ``token`` between two grapheme clusters that are both East Asian wide
    letters (ideographs, kana): where those scripts may be cut without a space."""
    clusters = list(grapheme.graphemes(token))
    ends = accumulate(len(cluster) for cluster in clusters)
    pairs = zip(pairwise(clusters), ends, strict=False)
    return [end for (left, right), end in pairs if _is_wide_letter(left) and _is_wide_letter(right)]


def _is_wide_letter(cluster: str) -> bool:
    wide = unicodedata.east_asian_width(cluster[0]) in ("W", "F")
    return wide and unicodedata.category(cluster[0]).startswith("L")
