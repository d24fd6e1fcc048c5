"""Each network's length rules: how it counts a text, its limit, and what to say when a text fails.

>>> check_text(Network.X, "Blackboard is back. 🎉").summary()
'22/280'
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import grapheme
import twitter_text
from twitter_text.regexp.invalid_chars import invalid_chars

from bot.config import Network

URL_LENGTH = 23  # X and Mastodon count every link as 23 characters, however long it is

_CHARACTERS = "characters"


@dataclass(frozen=True)
class _Rule:
    limit: int
    unit: str
    owner: str  # possessive, for the problem sentence: "32 over X's limit"


_RULES: dict[Network, _Rule] = {
    Network.X: _Rule(280, "weighted characters", "X's"),
    Network.FACEBOOK: _Rule(63_206, _CHARACTERS, "Facebook's"),
    Network.INSTAGRAM: _Rule(2_200, _CHARACTERS, "Instagram's caption"),
    Network.MASTODON: _Rule(500, _CHARACTERS, "Mastodon's"),
    Network.BLUESKY: _Rule(300, "graphemes", "Bluesky's"),
    Network.LINKEDIN: _Rule(3_000, _CHARACTERS, "LinkedIn's"),
    Network.STATUSPAGE: _Rule(25_000, _CHARACTERS, "Statuspage's body"),
    Network.WEBHOOK: _Rule(100_000, _CHARACTERS, "the webhook's"),
}


@dataclass(frozen=True)
class TextCheck:
    """One text measured the way one network measures it."""

    network: Network
    length: int  # as the network counts it, plus any room kept for the publish time
    limit: int
    unit: str  # "characters", "weighted characters" or "graphemes"
    problem: str | None  # None when the text is fine; else a sentence for the person editing it

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        """Length against limit, short enough for a preview: ``"142/280"``."""
        return f"{self.length}/{self.limit}"


# The same texts are checked again each time a draft is shown, and X's weighted count (the
# twitter-text parser) costs about a millisecond a text: remember recent answers.
@functools.lru_cache(maxsize=4096)
def check_text(
    network: Network, text: str, *, max_characters: int | None = None, time_slack: int = 0
) -> TextCheck:
    """Measure ``text`` as ``network`` counts it and say what, if anything, is wrong with it.

    ``max_characters`` is the channel's configured limit (``crier.yml``), replacing the network's
    default: a Mastodon server's own limit, say. ``time_slack`` is added to the length before the
    comparison, because the times in a draft are rewritten when it is published and may grow.

        >>> check_text(Network.X, "a" * 300).problem
        "300/280 weighted characters: 20 over X's limit"
    """
    rule = _RULES[network]
    limit = max_characters if max_characters is not None else rule.limit
    # Every network stores NFC, and X counts after NFC: "e" + combining accent is one character.
    normalised = unicodedata.normalize("NFC", text)
    length = _count(network, normalised) + time_slack
    problem: str | None = None
    if not normalised.strip():
        problem = "the text is empty"
    elif network is Network.X and (bad := invalid_chars.search(normalised)):
        problem = f"the text has a character X refuses (U+{ord(bad.group()):04X}); remove it"
    elif length > limit:
        problem = f"{length}/{limit} {rule.unit}: {length - limit} over {rule.owner} limit"
        if time_slack:
            problem += f" (counting {time_slack} spare for the time at publishing)"
    return TextCheck(network=network, length=length, limit=limit, unit=rule.unit, problem=problem)


def _count(network: Network, text: str) -> int:
    if network is Network.X:
        return twitter_text.parse_tweet(text).weightedLength
    if network is Network.BLUESKY:
        return int(grapheme.length(text))
    if network is Network.MASTODON:
        return _mastodon_length(text)
    return len(text)


def _mastodon_length(text: str) -> int:
    """Characters, with every http(s) link counted as 23.

    Mastodon finds links with the same twitter-text rules, but only those with a scheme. It counts
    grapheme clusters, so counting code points here can only over-estimate, never under-estimate.
    """
    links = twitter_text.extract_urls_with_indices(text, extract_urls_without_protocol=False)
    link_chars = sum(end - start for start, end in (link["indices"] for link in links))
    return len(text) - link_chars + URL_LENGTH * len(links)
