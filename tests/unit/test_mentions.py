"""Live mentions: which handles each network would notify, and what each channel's ``mentions``
setting makes of them."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot.drafting.mentions
from bot.config import CrierConfig, Network
from bot.drafting.mentions import find_mentions, mention_notes
from tests.conftest import make_config

X, MASTODON, BLUESKY, INSTAGRAM = Network.X, Network.MASTODON, Network.BLUESKY, Network.INSTAGRAM
QUIET = (Network.FACEBOOK, Network.LINKEDIN, Network.STATUSPAGE, Network.WEBHOOK)


def test_the_examples_in_the_module_hold() -> None:
    assert doctest.testmod(bot.drafting.mentions).failed == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ask @jsmith for help", ("@jsmith",)),
        ("@jsmith: Blackboard is down", ("@jsmith",)),
        ("Blackboard is down (cc @it_help, @NorthfieldIT).", ("@it_help", "@NorthfieldIT")),
        ("@JSmith and @jsmith", ("@JSmith",)),  # one account: handles ignore case
        ("Write to help@example.edu", ()),
        ("Write to first.last@example.edu or it-help@example.edu", ()),
        ("See https://x.com/@jsmith and https://mastodon.social/@it", ()),
        ("See https://status.example.edu/?who=@jsmith", ()),
        ("Follow @helpdesk@mastodon.example.edu", ()),  # @ right after: no mention on X
        ("Ask @josé", ()),  # an accented letter right after: no mention on X
        ("The list @northfield/outages", ()),  # a list, not a person
        ("RT@jsmith: Blackboard is down", ("@jsmith",)),
        ("rate@5 per second", ()),
        ("障害が発生しています。@jsmith までご連絡ください", ("@jsmith",)),  # X: CJK before is fine
        ("\u969c\u5bb3\u3000\uff20jsmith", ("@jsmith",)),  # full-width at sign
        ("@a_very_long_handle_indeed_yes", ("@a_very_long_handle_i",)),  # twitter-text: 20
        ("50% off!@jsmith", ()),
        ("Mail me @ the desk", ()),
        ("", ()),
    ],
)
def test_x(text: str, expected: tuple[str, ...]) -> None:
    assert find_mentions(X, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ask @jsmith for help", ("@jsmith",)),
        ("Follow @helpdesk@mastodon.example.edu.", ("@helpdesk@mastodon.example.edu",)),
        ("Ask @it.help@social.example.edu!", ("@it.help@social.example.edu",)),
        ("@jsmith and @jsmith@mastodon.social", ("@jsmith", "@jsmith@mastodon.social")),
        ("Write to help@example.edu", ()),
        ("See https://mastodon.social/@it or https://example.edu/@jsmith@host.social", ()),
        ("?to=@jsmith", ()),
        ("障害が発生しています@jsmith", ()),  # a word character before: no mention on Mastodon
        ("障害が発生しています。@jsmith", ("@jsmith",)),
        ("Ask @jsmith.", ("@jsmith",)),
    ],
)
def test_mastodon(text: str, expected: tuple[str, ...]) -> None:
    assert find_mentions(MASTODON, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ask @jsmith.bsky.social for help", ("@jsmith.bsky.social",)),
        ("(@it.northfield.edu) says", ("@it.northfield.edu",)),
        ("Ask @jsmith.bsky.social.", ("@jsmith.bsky.social",)),
        ("@helpdesk.test here", ("@helpdesk.test",)),
        ("Ask @jsmith for help", ()),  # a handle is a domain name
        ("Version @v1.2 and @notes.txt", ()),  # not a top-level domain
        ("Write to help@example.edu", ()),
        ("x@jsmith.bsky.social", ()),
        ("https://bsky.app/profile/@jsmith.bsky.social", ()),
        ("障害です @jsmith.bsky.social", ("@jsmith.bsky.social",)),
        ("障害です@jsmith.bsky.social", ()),
    ],
)
def test_bluesky(text: str, expected: tuple[str, ...]) -> None:
    assert find_mentions(BLUESKY, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thanks @northfield.it for the photo", ("@northfield.it",)),
        ("Ask @jsmith.", ("@jsmith",)),
        ("Write to help@example.edu", ()),
        ("See https://instagram.com/@northfield", ()),
        ("Ask @josé", ()),
    ],
)
def test_instagram(text: str, expected: tuple[str, ...]) -> None:
    assert find_mentions(INSTAGRAM, text) == expected


@pytest.mark.parametrize("network", QUIET)
def test_networks_where_no_text_mention_notifies(network: Network) -> None:
    assert find_mentions(network, "Ask @jsmith or @helpdesk@mastodon.example.edu") == ()


@given(st.text(alphabet=st.characters(blacklist_characters="@\uff20")))
def test_no_at_sign_no_mention(text: str) -> None:
    assert all(find_mentions(network, text) == () for network in Network)


@given(
    st.from_regex(r"[a-z0-9](?:[a-z0-9._%+-]{0,18}[a-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z0-9-]{1,12}\.(edu|com|org|ac\.uk)", fullmatch=True),
)
def test_an_email_address_is_never_a_mention(local: str, domain: str) -> None:
    text = f"Write to {local}@{domain} for help"
    assert all(find_mentions(network, text) == () for network in Network)


def _config(**mentions: str) -> CrierConfig:
    channels = {
        "x": {"enabled": True, "mentions": mentions.get("x", "warn")},
        "mastodon": {"enabled": True, "mentions": mentions.get("mastodon", "warn")},
        "facebook": {"enabled": True},
    }
    return make_config(
        channels=channels,
        services=[{"name": "Blackboard", "default_channels": ["x"]}],
    )


def test_warn_is_the_default_and_notes_each_account() -> None:
    config = make_config()
    assert config.channels[X].mentions == "warn"
    notes, problem = mention_notes(config, X, "Ask @jsmith or @helpdesk, not help@example.edu")
    assert notes == ["will notify @jsmith on X", "will notify @helpdesk on X"] and problem is None
    notes, problem = mention_notes(config, MASTODON, "Follow @helpdesk@mastodon.example.edu")
    assert notes == ["will notify @helpdesk@mastodon.example.edu on Mastodon"]


def test_block_is_a_problem_that_names_the_accounts() -> None:
    config = _config(x="block")
    notes, problem = mention_notes(config, X, "Ask @jsmith")
    assert notes == []
    assert problem == (
        "@jsmith would notify that account; live mentions are off for X in crier.yml — "
        "remove the @ or write the name."
    )
    _, problem = mention_notes(config, X, "Ask @jsmith, @it or @help")
    assert problem is not None
    assert problem.startswith("@jsmith, @it and @help would notify those accounts;")
    assert mention_notes(config, X, "Ask jsmith or help@example.edu") == ([], None)
    assert mention_notes(config, MASTODON, "Ask @jsmith") == (
        ["will notify @jsmith on Mastodon"],
        None,
    )


def test_allow_says_nothing() -> None:
    assert mention_notes(_config(x="allow"), X, "Ask @jsmith") == ([], None)


def test_a_network_without_text_mentions_says_nothing_whatever_the_setting() -> None:
    assert mention_notes(_config(), Network.FACEBOOK, "Ask @jsmith") == ([], None)


def test_a_channel_missing_from_crier_yml_warns() -> None:
    assert mention_notes(_config(), BLUESKY, "Ask @jsmith.bsky.social") == (
        ["will notify @jsmith.bsky.social on Bluesky"],
        None,
    )


def test_an_unknown_setting_is_refused_when_crier_yml_is_read() -> None:
    with pytest.raises(ValueError, match="mentions"):
        _config(x="shout")
