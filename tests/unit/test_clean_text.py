"""Cleaning what people type keeps every character whole: joiners, marks, selectors and emoji
tags stay; controls and the bidi controls that can disguise a text go."""

from __future__ import annotations

import grapheme
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.incidents.requests import BIDI_CONTROLS, clean, clean_text, forbidden

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # man ZWJ woman ZWJ girl …
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"  # white flag, VS16, ZWJ, rainbow
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # tags
PERSIAN = "می\u200cخواهم"  # noqa: RUF001 ("I want", with a zero-width non-joiner)
HEBREW_WITH_RLM = "השירות חזר\u200f (Blackboard)"
ARABIC_WITH_ALM = "الخدمة \u061c3\u061c/\u061c5 متوقفة"
KEYCAP = "1\ufe0f\u20e3"
IDEOGRAPHIC_VARIANT = "\u845b\U000e0100"  # a CJK ideograph with a variation selector supplement
NEWER_EMOJI = "\U0001fae8"  # shaking face: Unicode 15, unassigned in older tables


@pytest.mark.parametrize(
    "text",
    [
        FAMILY,
        RAINBOW_FLAG,
        SCOTLAND,
        PERSIAN,
        HEBREW_WITH_RLM,
        ARABIC_WITH_ALM,
        KEYCAP,
        IDEOGRAPHIC_VARIANT,
        NEWER_EMOJI,
        "\u200eleft-to-right mark",
    ],
)
def test_joiners_marks_selectors_and_tags_are_kept(text: str) -> None:
    assert clean(text) == text
    assert clean(f"Blackboard is down {text} sorry") == f"Blackboard is down {text} sorry"


def test_the_family_stays_one_person_group() -> None:
    cleaned = clean_text(f"Update for {FAMILY} families", field_name="summary", limit=150)
    assert FAMILY in cleaned
    assert grapheme.length(FAMILY) == 1 and FAMILY in list(grapheme.graphemes(cleaned))


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_bidi_embeddings_overrides_and_isolates_go(control: str) -> None:
    assert clean(f"invoice{control}fdp.exe") == "invoicefdp.exe"


def test_controls_go_but_newline_and_tab_stay() -> None:
    assert clean("a\x00b\x1b[31mc\x7fd\x9be") == "ab[31mcde"
    assert clean("one\ttwo\nthree") == "one\ttwo\nthree"


def test_every_kind_of_line_break_becomes_a_newline() -> None:
    assert clean("a\r\nb\rc\x85d\u2028e\u2029f") == "a\nb\nc\nd\ne\nf"


def test_ends_are_stripped_by_whole_characters() -> None:
    assert clean("  \t Blackboard \n ") == "Blackboard"
    assert clean("\x00  hi  \x1b") == "hi"
    # A space carrying a combining mark is something people see: it stays.
    assert clean(" \u0301x ") == " \u0301x"


def test_a_removed_control_does_not_make_a_new_flag() -> None:
    us, se = "\U0001f1fa\U0001f1f8", "\U0001f1f8\U0001f1ea"
    cleaned = clean(f"\U0001f1fa\x00{se}")
    assert se in list(grapheme.graphemes(cleaned))
    assert clean(f"{us}{se}") == f"{us}{se}"


def test_lone_surrogates_go() -> None:
    assert clean("a\ud800b") == "ab"


def test_required_means_something_visible() -> None:
    for empty in ["", "   ", "\u200d", "\u200b\ufeff", "\x00\u202e", "\u0301"]:
        with pytest.raises(InvalidInput) as refused:
            clean_text(empty, field_name="summary", limit=150, required=True)
        assert refused.value.fields == {"summary": "This is required."}
    assert clean_text(FAMILY, field_name="summary", limit=150, required=True) == FAMILY


def test_over_long_is_refused_with_the_field_named() -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_text("x" * 151, field_name="summary", limit=150)
    assert "summary is 151 characters" in refused.value.message


# Characters that build clusters (and that break them), mixed into arbitrary text.
BUILDING = [
    "\u200d",
    "\u200c",
    "\u200e",
    "\u200f",
    "\u061c",
    "\ufe0f",
    "\ufe0e",
    "\U000e0100",
    "\U000e0067",
    "\U000e007f",
    "\U0001f3f4",
    "\U0001f468",
    "\U0001f469",
    "\U0001f3f3",
    "\U0001f308",
    "\U0001f1fa",
    "\U0001f1f8",
    "\U0001f1ea",
    "\u0301",
    "\u20e3",
    "\u0600",  # a prepended sign
    "\u0903",  # a spacing mark
    "\u1100",  # Hangul L, V, T
    "\u1161",
    "\u11a8",
    "\uac00",
    " ",
    "\u00a0",
    "\n",
    "\t",
    "\r",
    "\x00",
    "\x1b",
    "\x85",
    "\u2028",
    "\u202e",
    "\u2066",
    "\u2069",
    "e",
    "م",
]
texts = st.text(
    alphabet=st.one_of(st.sampled_from(BUILDING), st.characters(exclude_categories=("Cs",))),
    max_size=40,
)


def _changed(cluster: str) -> bool:
    """Holds a character that cleaning removes or rewrites (line breaks become "\\n")."""
    return any(forbidden(ch) or ch in "\r\x85\u2028\u2029" for ch in cluster)


@given(texts)
@example("\U0001f1fa\x00\U0001f1f8\U0001f1ea")
@example("\u0600\x00e\u0301")
@example(f" \u0301{FAMILY}\u202e{SCOTLAND}\x00{RAINBOW_FLAG} ")
def test_cleaning_never_splits_a_cluster_that_holds_nothing_it_removes(text: str) -> None:
    cleaned = clean(text)
    boundaries, at = set(), 0
    for cluster in grapheme.graphemes(cleaned):
        at += len(cluster)
        boundaries.add(at)
    cursor = 0
    for cluster in grapheme.graphemes(text):
        if _changed(cluster) or cluster.isspace():
            continue  # whitespace may be stripped at the ends
        # The cluster is in the cleaned text, in order, with no boundary inside it.
        found = cleaned.find(cluster, cursor)
        while found >= 0 and any(found < b < found + len(cluster) for b in boundaries):
            found = cleaned.find(cluster, found + 1)
        assert found >= 0, (text, cleaned, cluster)
        cursor = found + len(cluster)


@given(texts)
def test_cleaned_text_holds_nothing_forbidden_and_cleaning_again_changes_nothing(
    text: str,
) -> None:
    cleaned = clean(text)
    assert not any(forbidden(ch) for ch in cleaned)
    assert "\r" not in cleaned
    assert clean(cleaned) == cleaned
