"""The independent counters of ``tests/counters.py``, on cases worked out by hand."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Network
from bot.drafting.textrules import check_text
from tests import counters
from tests.counters import (
    bluesky_bytes,
    bluesky_graphemes,
    grapheme_count,
    instagram_characters,
    instagram_hashtags,
    linkedin_length,
    linkedin_little,
    links,
    mastodon_length,
    measures,
    problems,
    x_weighted_length,
    x_weighted_length_own,
)

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 4 people, 3 joiners
RAINBOW = "\U0001f3f3\ufe0f\u200d\U0001f308"  # white flag, VS16, ZWJ, rainbow
UKRAINE = "\U0001f1fa\U0001f1e6"  # two regional indicators
RLM = "\u200f"
HELP = "https://it.northfield.example.edu/help/blackboard"
LONG_HELP = "https://it.northfield.example.edu/help/" + "x" * 100


def test_counters_do_not_use_crier():
    source = counters.__file__
    with open(source, encoding="utf-8") as file:
        text = file.read()
    assert "bot.drafting.textrules" not in text.replace("``bot/drafting/textrules.py``", "")
    assert "import grapheme\n" not in text


# ----- graphemes and bytes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("abc", 3),
        (FAMILY, 1),
        (RAINBOW, 1),
        (UKRAINE, 1),
        (UKRAINE * 2, 2),  # flags pair up in order
        ("e\u0301", 1),
        ("\U0001f44d\U0001f3fd", 1),  # skin tone
        ("1\ufe0f\u20e3", 1),  # keycap
        ("क्षि", 1),  # a Devanagari conjunct: one cluster since Unicode 15.1
        ("שלום" + RLM, 5),  # the mark is a cluster of its own
        ("\r\n", 1),
    ],
)
def test_graphemes(text, count):
    assert grapheme_count(text) == count


@pytest.mark.parametrize(
    ("text", "size"),
    [("a", 1), ("é", 2), ("€", 3), ("漢", 3), ("\U0001f600", 4), (FAMILY, 25), (RAINBOW, 14)],
)
def test_utf8_bytes(text, size):
    assert bluesky_bytes(text) == size


def test_bluesky_300_families_are_300_graphemes_and_7500_bytes():
    text = FAMILY * 300
    assert (bluesky_graphemes(text), bluesky_bytes(text)) == (300, 7500)
    assert problems("bluesky", text) == ["7500/3000 UTF-8 bytes"]
    assert problems("bluesky", FAMILY * 120) == []  # exactly 3000 bytes
    assert problems("bluesky", FAMILY * 120 + "a") == ["3001/3000 UTF-8 bytes"]
    assert problems("bluesky", "a" * 301) == ["301/300 graphemes"]


# ----- links -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"See {HELP}.", [HELP]),
        (f"({HELP})", [HELP]),
        ("https://en.example.org/wiki/Foo_(bar)", ["https://en.example.org/wiki/Foo_(bar)"]),
        (f"{HELP}, then {LONG_HELP}!", [HELP, LONG_HELP]),
        ("it.example.edu and http:// alone", []),
        ("http://localhost:8080/status", []),  # no top-level domain: no link
        (f"glued{HELP} #{HELP}", []),  # glued to a word or a sign: no link (twitter-text's rule)
    ],
)
def test_links(text, found):
    assert [text[start:end] for start, end in links(text)] == found


# ----- X -----------------------------------------------------------------------------------------

X_CASES = [
    ("Blackboard is back.", 19),
    ("\U0001f600", 2),
    (FAMILY, 2),
    (RAINBOW, 2),
    (UKRAINE, 2),
    ("漢字", 4),
    ("カタカナ", 8),
    ("한국어", 6),
    ("مرحبا", 5),  # Arabic is below U+10FF: 1 each
    ("שלום", 4),
    (RLM, 2),  # U+200F is outside 8192-8205: 2
    ("\u2014", 1),  # an em dash is in 8208-8223
    ("…", 2),  # U+2026 is not: the ellipsis weighs 2
    (HELP, 23),
    (LONG_HELP, 23),
    (f"See {HELP} now", 4 + 23 + 4),
    ("e\u0301", 1),  # NFC first
    ("a\r\nb", 3),
]


@pytest.mark.parametrize(("text", "weighted"), X_CASES)
def test_x_reference(text, weighted):
    assert x_weighted_length(text) == weighted


@pytest.mark.parametrize(("text", "weighted"), X_CASES)
def test_x_own_agrees_with_the_reference_by_hand(text, weighted):
    assert x_weighted_length_own(text) == weighted


def test_x_own_agrees_with_twitter_text_on_a_sample():
    pieces = [
        "Blackboard",
        " ",
        "is down",
        FAMILY,
        RAINBOW,
        UKRAINE,
        "\U0001f44d\U0001f3fd",
        "学生无法登录",
        "ログインできません",
        "لا يمكن تسجيل الدخول",
        RLM,
        "אין כניסה",
        HELP,
        "#ITStatus",
        "@NorthfieldIT",
        "…",
        "\n\n",
        "Ünïcödé",
        "\u2019s",
    ]
    for first in pieces:
        for second in pieces:
            for third in pieces[::3]:
                text = f"{first} {second}{third}"
                assert x_weighted_length_own(text) == x_weighted_length(text), text


# ----- Mastodon ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Blackboard is back.", 19),
        (f"Help: {LONG_HELP} and {HELP}", 6 + 23 + 5 + 23),
        ("it.example.edu", 14),  # no scheme: counted as typed
        (FAMILY, 1),  # graphemes
        ("e\u0301", 1),
        ("Thanks @alice@fosstodon.example.org!", len("Thanks @alice!")),
        ("Thanks @alice!", len("Thanks @alice!")),
        ("mail help@it.example.edu", len("mail help@it.example.edu")),  # not a mention
    ],
)
def test_mastodon(text, length):
    assert mastodon_length(text) == length


def test_mastodon_limit_is_the_servers():
    assert problems("mastodon", "a" * 501) == ["501/500 characters"]
    assert problems("mastodon", "a" * 501, max_characters=1000) == []


# ----- Instagram ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("#ITStatus", 1),
        ("#Blackboard_Outage #2026", 2),
        ("#東京 #Москва #القاهرة #עברית #हिन्दी", 5),
        ("C# and F#, &#38;", 0),
        ("https://it.example.edu/help#wifi", 0),
    ],
)
def test_instagram_hashtags(text, tags):
    assert instagram_hashtags(text) == tags


def test_instagram_30_and_31_hashtags():
    thirty = " ".join(f"#t{n}" for n in range(30))
    assert problems("instagram", thirty) == []
    assert problems("instagram", thirty + " #t30") == ["31/30 hashtags"]
    assert instagram_characters("a" * 2200 + FAMILY) == 2207
    assert problems("instagram", "a" * 2201) == ["2201/2200 characters"]


# ----- LinkedIn ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("Wi-Fi (eduroam) is back", "Wi-Fi \\(eduroam\\) is back"),
        ("a_b *c* ~d~", "a\\_b \\*c\\* \\~d\\~"),
        ("<e> [f] {g} h|i \\ @j", "\\<e\\> \\[f\\] \\{g\\} h\\|i \\\\ \\@j"),
        ("#ITStatus", "#ITStatus"),  # a hashtag stays one
        ("C# and # alone", "C\\# and \\# alone"),
        (f"See {HELP}.", f"See {HELP}."),
        ("https://it.example.edu/a_b~c", "https://it.example.edu/a_b~c"),
        ("(https://it.example.edu/x)", "\\(https://it.example.edu/x\\)"),
    ],
)
def test_linkedin_little(text, escaped):
    assert linkedin_little(text) == escaped


def test_linkedin_counts_escaped_utf16():
    assert linkedin_length("(a)") == 5
    assert linkedin_length("\U0001f600") == 2
    assert linkedin_length(FAMILY) == 11
    text = "a" * 2997 + "[b"
    assert problems("linkedin", text) == []
    assert problems("linkedin", text + "]") == ["3002/3000 escaped characters"]


# ----- every network -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("network", "limit"),
    [("facebook", 63_206), ("statuspage", 25_000), ("webhook", 100_000)],
)
def test_long_form_networks(network, limit):
    assert measures(network, "a" * limit) == [("characters", limit, limit)]
    assert problems(network, "a" * (limit + 1)) == [f"{limit + 1}/{limit} characters"]


# ----- Crier's own check never passes what a network would refuse --------------------------------

NEAR_LIMIT_PIECES = [
    "Blackboard is down",
    "学生输入密码后看到错误页面。",
    "ログインできません",
    "لا يمكن تسجيل الدخول" + RLM,
    "שָׁלוֹם",
    FAMILY,
    RAINBOW,
    UKRAINE,
    "क्षि",
    "e\u0301",
    HELP,
    LONG_HELP,
    "#ITStatus",
    "#東京",
    "@helpdesk",
    "@alice@fosstodon.example.org",
    "(eduroam)",
    "a_b*c~d",
    "…",
]


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(NEAR_LIMIT_PIECES), min_size=1, max_size=6),
    separator=st.sampled_from([" ", "\n", "", "\u3000"]),
    network=st.sampled_from(list(Network)),
    fill=st.floats(min_value=0.5, max_value=1.5),
)
def test_crier_never_passes_what_a_counter_refuses(pieces, separator, network, fill):
    unit = separator.join(pieces) + separator
    limits = {"x": 280, "mastodon": 500, "bluesky": 300, "instagram": 2200, "linkedin": 3000}
    target = limits.get(network, 3000) * fill
    text = (unit * max(1, int(target / max(1, len(unit))))).strip() or "x"
    if check_text(network, text).ok:
        assert problems(network, text) == [], text
