"""Each network counts a text its own way: these pin down the ways that differ."""

import pytest

from bot.config import Network
from bot.textrules import check_text

HELP_URL = "https://it.northfield.example.edu/help/blackboard"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # man ZWJ woman ZWJ girl …


def test_x_counts_plain_latin_text_one_each():
    check = check_text(Network.X, "Blackboard is back.")
    assert (check.length, check.limit, check.unit) == (19, 280, "weighted characters")
    assert check.ok
    assert check.summary() == "19/280"


@pytest.mark.parametrize(
    ("text", "weighted"),
    [
        ("\U0001f600", 2),  # an emoji counts 2
        (FAMILY, 2),  # a ZWJ sequence is one emoji: 2, not 7 code points' worth
        ("漢字", 4),  # CJK counts 2 each
        ("カ", 2),
        (HELP_URL, 23),  # every link counts 23, whatever its length
        (f"See {HELP_URL} now", 4 + 23 + 4),
        ("e\u0301", 1),  # NFC first: e + combining accent is é
    ],
)
def test_x_weighs_emoji_cjk_and_links(text, weighted):
    assert check_text(Network.X, text).length == weighted


def test_x_problem_says_how_far_over():
    check = check_text(Network.X, "漢" * 141)
    assert not check.ok
    assert check.problem == "282/280 weighted characters: 2 over X's limit"


def test_x_refuses_invalid_characters():
    check = check_text(Network.X, "Blackboard\ufffe is back")
    assert not check.ok
    assert check.problem is not None and "U+FFFE" in check.problem


def test_mastodon_counts_each_link_as_23():
    long_link = "https://it.northfield.example.edu/help/" + "x" * 100
    check = check_text(Network.MASTODON, f"Help: {long_link} and {HELP_URL}")
    assert check.length == len("Help: ") + 23 + len(" and ") + 23
    assert (check.limit, check.unit) == (500, "characters")


def test_mastodon_counts_a_link_without_scheme_as_typed():
    assert check_text(Network.MASTODON, "it.example.edu").length == len("it.example.edu")


def test_mastodon_limit_comes_from_the_server_config():
    text = "a" * 600
    assert not check_text(Network.MASTODON, text).ok
    check = check_text(Network.MASTODON, text, max_characters=1000)
    assert check.ok and check.limit == 1000


def test_mastodon_over_limit():
    check = check_text(Network.MASTODON, "a" * 501)
    assert check.problem == "501/500 characters: 1 over Mastodon's limit"


@pytest.mark.parametrize(
    ("text", "graphemes"),
    [
        (FAMILY, 1),  # one family emoji is one grapheme
        ("\U0001f1e8\U0001f1e6", 1),  # a flag: two regional indicators
        ("e\u0301", 1),
        ("\U0001f44d\U0001f3fd", 1),  # thumbs up with a skin tone
        ("Back up " + FAMILY + "!", 10),
    ],
)
def test_bluesky_counts_graphemes(text, graphemes):
    check = check_text(Network.BLUESKY, text)
    assert (check.length, check.unit) == (graphemes, "graphemes")


def test_bluesky_links_count_in_full():
    assert check_text(Network.BLUESKY, HELP_URL).length == len(HELP_URL)


def test_bluesky_over_limit():
    assert check_text(Network.BLUESKY, FAMILY * 300).ok
    check = check_text(Network.BLUESKY, FAMILY * 301)
    assert check.problem == "301/300 graphemes: 1 over Bluesky's limit"


@pytest.mark.parametrize(
    ("network", "limit"),
    [
        (Network.FACEBOOK, 63_206),
        (Network.INSTAGRAM, 2_200),
        (Network.LINKEDIN, 3_000),
        (Network.STATUSPAGE, 25_000),
        (Network.WEBHOOK, 100_000),
    ],
)
def test_long_form_limits_in_characters(network, limit):
    assert check_text(network, "a" * limit).ok
    check = check_text(network, "a" * (limit + 1))
    assert check.limit == limit and check.unit == "characters"
    assert check.problem is not None and check.problem.startswith(f"{limit + 1}/{limit} ")


@pytest.mark.parametrize("network", list(Network))
@pytest.mark.parametrize("text", ["", "   ", "\n\t\n"])
def test_empty_text_is_a_problem(network, text):
    check = check_text(network, text)
    assert not check.ok
    assert check.problem == "the text is empty"


def test_time_slack_is_counted_and_explained():
    check = check_text(Network.X, "a" * 279, time_slack=3)
    assert check.length == 282
    assert check.problem is not None
    assert check.problem.startswith("282/280 weighted characters: 2 over X's limit")
    assert "3 spare" in check.problem
    assert check_text(Network.X, "a" * 277, time_slack=3).ok
