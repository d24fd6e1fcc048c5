"""Cutting a phrase short: at a word, never inside a link, a mention, a hashtag or a cluster."""

import grapheme
from hypothesis import given
from hypothesis import strategies as st

from bot.drafting.shortening import ELLIPSIS, prefixes


def test_cuts_fall_between_words_and_end_in_an_ellipsis():
    assert prefixes("cannot log in, then errors") == [
        "cannot…",
        "cannot log…",
        "cannot log in…",
        "cannot log in, then…",
    ]


def test_links_mentions_and_hashtags_stay_whole():
    text = "see https://it.example.edu/help/blackboard/sign-in @helpdesk #ITStatus now"
    words = text.split(" ")
    for cut in prefixes(text):
        head = cut.removesuffix(ELLIPSIS).split(" ")
        assert head == words[: len(head)]


def test_a_single_link_cannot_be_cut():
    assert prefixes("https://it.example.edu/a/very/long/link") == []


def test_chinese_is_cut_between_ideographs():
    assert prefixes("无法登录")[:2] == ["无…", "无法…"]


def test_emoji_sequences_are_never_split():
    family = "👨\u200d👩\u200d👧\u200d👦"
    text = f"{family} {family} 🏳️\u200d🌈 families cannot log in"
    originals = set(grapheme.graphemes(text))
    for cut in prefixes(text):
        assert set(grapheme.graphemes(cut.removesuffix(ELLIPSIS))) <= originals


@given(st.text(min_size=1, max_size=80))
def test_every_cut_is_a_prefix_made_of_whole_clusters(text):
    clusters = list(grapheme.graphemes(text))
    boundaries = {sum(len(c) for c in clusters[:i]) for i in range(len(clusters) + 1)}
    for cut in prefixes(text):
        head = cut.removesuffix(ELLIPSIS)
        assert text.startswith(head)
        assert len(head) in boundaries
