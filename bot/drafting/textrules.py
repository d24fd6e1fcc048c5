"""Each network's length rules: how it counts a text, its limits, and what to say when a text fails.

>>> check_text(Network.X, "Blackboard is back. 🎉").summary()
'22/280'

Some networks have more than one rule, and a text must keep all of them:

- X: 280 *weighted* characters (twitter-text v3: most CJK and every emoji 2, every link 23).
- Mastodon: the server's limit (500 by default), every http(s) link counted as 23.
- Bluesky: 300 graphemes **and** 3,000 UTF-8 bytes (a PDS refuses "string too big (maximum
  3000, got 3039)": 300 family emoji are 300 graphemes but 7,500 bytes).
- Instagram: a caption of 2,200 characters **and** at most 30 hashtags.
- LinkedIn: 3,000 characters of the text *as sent*, in its "little" format with reserved
  characters escaped (``little_text``), counted in UTF-16 units.
- Facebook, Statuspage (an incident body), the webhook: characters.

A ``TextCheck`` reports the rule the text breaks (the first, in the order above), or, when it
keeps them all, the network's main one.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, replace

import grapheme
import twitter_text
from twitter_text.regexp.invalid_chars import invalid_chars
from twitter_text.regexp.spaces_group import spaces_group
from twitter_text.regexp.valid_cctld import valid_cctld
from twitter_text.regexp.valid_gtld import valid_gtld

from bot.config import ChannelConfig, CrierConfig, Network
from bot.drafting.post_times import widest

URL_LENGTH = 23  # X and Mastodon count every link as 23 characters, however long it is
BLUESKY_MAX_BYTES = 3_000  # besides the 300 graphemes: the PDS's maxLength of the record text
INSTAGRAM_MAX_HASHTAGS = 30

# An Instagram hashtag: "#" and a run of letters, digits or underscores, in any script (Python's
# ``\w`` on str is Unicode), not glued to a word before it ("C#", a link's "page#part") nor an
# HTML entity ("&#38;"). Only the count matters, not where each ends. This is deliberately wider
# than twitter-text's extractor, which skips all-digit tags ("#2026") and tags inside links: a
# rule that counts one too many refuses a draft a person can fix; one that counts too few lets
# Instagram refuse the post at publishing. The publisher (``bot.publishing.instagram``) and the
# fake Graph API count with the same pattern.
INSTAGRAM_HASHTAG = re.compile(r"(?<![\w&])#\w+")

# LinkedIn's "little" text format (``commentary`` of ``POST /rest/posts``): its reserved
# characters are markup, and LinkedIn silently cuts the post at the first one left unescaped.
# Group 1, left as written: links (without trailing punctuation), so they stay clickable, and a
# hashtag's "#" (a little HashtagElement), so it stays a hashtag. Else: a reserved character.
_LINKEDIN_ESCAPE = re.compile(
    r"(https?://[^\s<>(){}\[\]|\\]*[^\s<>(){}\[\]|\\.,;:!?'\"]|(?<!\S)#(?=\w))"
    r"|[\\|{}@\[\]()<>#*_~]"
)

# twitter-text's spaces: no link, emoji or character crosses one. A text is measured piece by
# piece between them, because twitter-text's link pattern takes time quadratic in the length of
# a run of letters that could be a domain name: 1,000 Chinese characters and a full stop cost it
# 75 ms, and the drafter measures a text a dozen times while shortening it.
_TWITTER_SPACES = re.compile(f"([{spaces_group}]+)")
# Every link has a domain, whose last dot is followed by its top-level domain: a letter. A piece
# without a dot followed by something other than a space or ASCII punctuation holds no link.
_DOMAIN_DOT = re.compile(r"\.[^\s!-/:-@\[-`{-~]")

# A link with a scheme, not glued to a word (group 1: its host), and the punctuation that ends
# its sentence rather than it.
_SCHEME_LINK = re.compile(r"(?<![\w@$#\uff03])https?://([^\s/?#:]*)\S*", re.IGNORECASE)
_SENTENCE_END = ".,;:!?'\")]}>"

_CHARACTERS = "characters"


# Each network's main rule: its limit, what it counts, and whose limit it is (for the problem
# sentence: "32 over X's limit").
_RULES: dict[Network, tuple[int, str, str]] = {
    Network.X: (280, "weighted characters", "X's"),
    Network.FACEBOOK: (63_206, _CHARACTERS, "Facebook's"),
    Network.INSTAGRAM: (2_200, _CHARACTERS, "Instagram's caption"),
    Network.MASTODON: (500, _CHARACTERS, "Mastodon's"),
    Network.BLUESKY: (300, "graphemes", "Bluesky's"),
    Network.LINKEDIN: (3_000, _CHARACTERS, "LinkedIn's"),
    Network.STATUSPAGE: (25_000, _CHARACTERS, "Statuspage's body"),
    Network.WEBHOOK: (100_000, _CHARACTERS, "the webhook's"),
    # No network's limit: a page's, generous as Statuspage's, so one update stays readable.
    Network.SITE: (25_000, _CHARACTERS, "the status site's"),
}


@dataclass(frozen=True)
class TextCheck:
    """One text measured the way one network measures it."""

    network: Network
    length: int  # as the network counts it
    limit: int
    unit: str  # "characters", "weighted characters", "graphemes", "UTF-8 bytes", "hashtags"
    problem: str | None  # None when the text is fine; else a sentence for the person editing it

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        """Length against limit, short enough for a preview: ``"142/280"``."""
        return f"{self.length}/{self.limit}"


def little_text(text: str) -> str:
    """Plain text as LinkedIn's little format: reserved characters escaped with a backslash,
    links and a hashtag's "#" left as written. This is what LinkedIn receives (and counts); the
    text Crier records as published stays the plain one.

    >>> little_text("Wi-Fi (eduroam) is back: https://it.example.edu/wifi #ITStatus")
    'Wi-Fi \\\\(eduroam\\\\) is back: https://it.example.edu/wifi #ITStatus'
    """
    return _LINKEDIN_ESCAPE.sub(lambda match: match.group(1) or "\\" + match.group(), text)


def instagram_hashtags(text: str) -> int:
    """How many hashtags Instagram finds in a caption (see ``INSTAGRAM_HASHTAG``)."""
    return len(INSTAGRAM_HASHTAG.findall(text))


def measure(config: CrierConfig, network: Network, text: str, *, draft: bool = True) -> TextCheck:
    """``check_text`` with the channel's own limit from crier.yml (``max_characters``) and, in a
    draft, each time set at publishing counted at its widest (``widest``), so a text that fits
    now still fits whenever it goes out. ``draft=False``: a text sent as written (a calendar
    post)."""
    settings = config.channels.get(network) or ChannelConfig()
    counted = widest(text, config.organisation.zone) if draft else text
    return check_text(network, counted, max_characters=settings.max_characters)


# The same texts are checked again each time a draft is shown, and X's weighted count (the
# twitter-text parser) costs about a millisecond a text: remember recent answers.
@functools.lru_cache(maxsize=4096)
def check_text(network: Network, text: str, *, max_characters: int | None = None) -> TextCheck:
    """Measure ``text`` as ``network`` counts it and say what, if anything, is wrong with it.

    ``max_characters`` is the channel's configured limit (``crier.yml``), replacing the network's
    main limit (X's weighted characters, Bluesky's graphemes, LinkedIn's characters …): a
    Mastodon server's own limit, say. Bluesky's 3,000 bytes and Instagram's 30 hashtags stay.

        >>> check_text(Network.X, "a" * 300).problem
        "300/280 weighted characters: 20 over X's limit"
        >>> check_text(Network.INSTAGRAM, "#a " * 32).problem
        '32 hashtags: Instagram allows 30'
    """
    main_limit, unit, owner = _RULES[network]
    limit = max_characters if max_characters is not None else main_limit
    # X counts after NFC (twitter-text does): "e" + combining accent is one character. The other
    # networks count what they receive, which is the text as written: both forms are measured and
    # the larger kept, so a text that fits in one form cannot be refused in the other.
    normalised = unicodedata.normalize("NFC", text)
    forms = (normalised,) if normalised == text or network is Network.X else (text, normalised)
    length = max(_count(network, form) for form in forms)
    main = TextCheck(network=network, length=length, limit=limit, unit=unit, problem=None)
    if not normalised.strip():
        return replace(main, problem="the text is empty")
    if network is Network.X and (bad := invalid_chars.search(normalised)):
        problem = f"the text has a character X refuses (U+{ord(bad.group()):04X}); remove it"
        return replace(main, problem=problem)
    if length > limit:
        return replace(main, problem=_over(length, limit, unit, owner))
    if network is Network.BLUESKY:
        size = max(len(form.encode("utf-8")) for form in forms)
        if size > BLUESKY_MAX_BYTES:
            problem = _over(size, BLUESKY_MAX_BYTES, "UTF-8 bytes", owner)
            problem += " (emoji and letters outside Latin take 2 to 4 bytes each)"
            return TextCheck(network, size, BLUESKY_MAX_BYTES, "UTF-8 bytes", problem)
    if network is Network.INSTAGRAM:
        tags = max(instagram_hashtags(form) for form in forms)
        if tags > INSTAGRAM_MAX_HASHTAGS:
            problem = f"{tags} hashtags: Instagram allows {INSTAGRAM_MAX_HASHTAGS}"
            return TextCheck(network, tags, INSTAGRAM_MAX_HASHTAGS, "hashtags", problem)
    return main


def _over(length: int, limit: int, unit: str, owner: str) -> str:
    return f"{length}/{limit} {unit}: {length - limit} over {owner} limit"


def _count(network: Network, text: str) -> int:
    if network is Network.X:
        return _x_length(text)
    if network is Network.BLUESKY:
        return int(grapheme.length(text))
    if network is Network.MASTODON:
        return _mastodon_length(text)
    if network is Network.LINKEDIN:
        # LinkedIn's 3,000 is counted on the escaped text it receives (the safe reading: an
        # escape is a character of the field as sent, and LinkedIn's own limit check sees the
        # field), and in UTF-16 units, as its Java services count a string's length: an emoji
        # outside the Basic Multilingual Plane counts 2. Both can only over-estimate.
        return len(little_text(text).encode("utf-16-le")) // 2
    return len(text)


def _x_length(text: str) -> int:
    """``twitter_text.parse_tweet(text).weightedLength``, sparing twitter-text's link pattern the
    pieces that cannot hold a link (``_DOMAIN_DOT``): those are measured together with their dots
    made commas (the same weight), which twitter-text then does not search for links at all."""
    pieces = _TWITTER_SPACES.split(text)
    linked = [index for index, piece in enumerate(pieces) if _DOMAIN_DOT.search(piece)]
    if not linked:
        return int(twitter_text.parse_tweet(text.replace(".", ",")).weightedLength)
    length = 0
    for index in linked:
        piece, before = _in_context(pieces, index)
        length += twitter_text.parse_tweet(piece).weightedLength - before - 1
        pieces[index] = "a"  # a stand-in of weight 1, so the spaces around it stay apart
    return length + int(twitter_text.parse_tweet("".join(pieces).replace(".", ",")).weightedLength)


def _in_context(pieces: list[str], index: int) -> tuple[str, int]:
    """A piece as twitter-text's link pattern sees it inside the whole text: after a space (which
    the pattern takes as the character before a link, rather than the piece's own first one),
    unless it starts the text. Returns the piece and how many characters (of weight 1) were put
    before it."""
    return (pieces[index], 0) if index == 0 else (" " + pieces[index], 1)


def _mastodon_length(text: str) -> int:
    """Characters, with every http(s) link counted as 23.

    Mastodon finds links with the same twitter-text rules, but only those with a scheme. It counts
    grapheme clusters, and a remote mention ``@user@domain`` as ``@user``, so counting code points
    and whole mentions here can only over-estimate, never under-estimate.
    """
    length = len(text)
    pieces = _TWITTER_SPACES.split(text)
    for index, piece in enumerate(pieces):
        if "://" in piece and _DOMAIN_DOT.search(piece):
            in_context, _ = _in_context(pieces, index)
            links = twitter_text.extract_urls_with_indices(
                in_context, extract_urls_without_protocol=False
            )
            for link in links:
                start, end = link["indices"]
                length += URL_LENGTH - (end - start)
            if not links:
                length += max(URL_LENGTH - _unlisted_link_length(piece), 0)
    return length


def _unlisted_link_length(piece: str) -> int:
    """The length of a link to a top-level domain twitter-text does not list ("https://it.example",
    a gTLD newer than its list), which Mastodon may still count as 23; ``URL_LENGTH`` (nothing to
    add) when the piece holds none."""
    match = _SCHEME_LINK.search(piece)
    if match is None:
        return URL_LENGTH
    tld = match.group(1).rstrip(".").rpartition(".")[2].lower()
    if not tld or valid_gtld.fullmatch(tld) or valid_cctld.fullmatch(tld):
        return URL_LENGTH  # twitter-text would have found it: not a link after all
    return len(match.group().rstrip(_SENTENCE_END))
