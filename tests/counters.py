"""How each network counts a text, written apart from Crier's ``bot/drafting/textrules.py``.

The tests judge Crier's drafts with these, so they must not share its code or its libraries'
shortcuts: graphemes come from the ``regex`` module's ``\\X`` (Unicode 15+), not the
``grapheme`` package Crier uses; links, mentions, hashtags and LinkedIn's escaping are found
with patterns of their own. X is the one exception: its own library, ``twitter-text``, *is* the
reference (``x_weighted_length``), cross-checked by ``x_weighted_length_own``, written from the
twitter-text v3 configuration.

    >>> x_weighted_length("Blackboard is back. 🎉")
    22
    >>> problems("bluesky", "👨‍👩‍👧‍👦" * 300)
    ['7500/3000 UTF-8 bytes']

Sources, as the networks state them:

- X: twitter-text v3 (``config/v3.json``): NFC first; code points in 0-4351, 8192-8205,
  8208-8223, 8242-8247 weigh 1, all others 2; an emoji, however many code points, 2; a link 23.
- Mastodon: ``StatusLengthValidator``: ``countable_text.each_grapheme_cluster.size``, where
  ``countable_text`` has each http(s) link as 23 characters and each remote mention
  ``@user@domain`` as ``@user``. The limit is the server's (500 by default).
- Bluesky: the lexicon of ``app.bsky.feed.post``: ``maxGraphemes: 300``, ``maxLength: 3000``
  (UTF-8 bytes of the text as sent).
- Instagram: a caption of 2,200 characters and at most 30 hashtags.
- LinkedIn: ``commentary`` of 3,000 characters, in the "little" format where
  ``\\ | { } @ [ ] ( ) < > # * _ ~`` are escaped with a backslash; counted here on the escaped
  text in UTF-16 units (the safe reading: the field as sent, as a Java service measures it).
- Facebook 63,206, Statuspage 25,000, the webhook 100,000: characters (code points).
"""

from __future__ import annotations

import unicodedata

import regex
import twitter_text

X_LIMIT = 280
X_URL_LENGTH = 23
MASTODON_URL_LENGTH = 23
MASTODON_DEFAULT_LIMIT = 500
BLUESKY_GRAPHEMES = 300
BLUESKY_BYTES = 3_000
INSTAGRAM_CHARACTERS = 2_200
INSTAGRAM_HASHTAGS = 30
LINKEDIN_CHARACTERS = 3_000
FACEBOOK_CHARACTERS = 63_206
STATUSPAGE_CHARACTERS = 25_000
WEBHOOK_CHARACTERS = 100_000
SITE_CHARACTERS = 25_000  # Crier's own status site: a page's limit, as generous as Statuspage's

ELLIPSIS = "…"

_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters, by the ``regex`` module's own segmenter."""
    return _GRAPHEME.findall(text)


def grapheme_count(text: str) -> int:
    return len(graphemes(text))


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# ----- links, found the way a reader's eye does --------------------------------------------------

# A link runs from its scheme to the next space; punctuation that ends a sentence, and a closing
# bracket that opens nowhere inside the link, are not part of it. Glued to a word, a "@", "$",
# "#" or a directional embedding before it, it is no link (twitter-text's rule, which Mastodon
# shares).
_NOT_BEFORE_LINK = "A-Za-z0-9@\uff20$#\uff03\u202a-\u202e"
_LINK = regex.compile(rf"(?<![{_NOT_BEFORE_LINK}])https?://[^\s]+", regex.IGNORECASE)
# X's links end at the first character outside ASCII's URL characters, Latin letters with
# accents and Cyrillic (twitter-text's path characters): an emoji or an ideograph ends them.
# Mastodon widened its path to anything but spaces and <>()?, so it needs no such rule.
_X_LINK = regex.compile(
    rf"(?<![{_NOT_BEFORE_LINK}])https?://[-A-Za-z0-9\u00c0-\u024f\u0400-\u04ff"
    r"!*';:=+,.$/%#\[\]\u2013_~|&@?()]+",
    regex.IGNORECASE,
)
# A host with a dot before its top-level domain: "localhost" is no link, "it.example.edu" is.
_HOST = regex.compile(r"https?://[^\s/?#:]*\.\p{L}", regex.IGNORECASE)
_TRAILING = ".,;:!?'\"\u201d\u2019"
_PAIRS = {")": "(", "]": "[", "}": "{", ">": "<"}


def links(text: str, *, x: bool = False) -> list[tuple[int, int]]:
    """Where each http(s) link is: ``(start, end)`` offsets; ``x``: as X finds them."""
    found: list[tuple[int, int]] = []
    for match in (_X_LINK if x else _LINK).finditer(text):
        start, end = match.span()
        while end > start:
            last = text[end - 1]
            link = text[start:end]
            unopened = last in _PAIRS and link.count(_PAIRS[last]) < link.count(last)
            if last not in _TRAILING and not unopened:
                break
            end -= 1
        if _HOST.match(text, start, end):
            found.append((start, end))
    return found


def _replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    out: list[str] = []
    position = 0
    for start, end, replacement in sorted(spans):
        if start < position:
            continue  # overlapping: the earlier entity wins
        out.append(text[position:start])
        out.append(replacement)
        position = end
    out.append(text[position:])
    return "".join(out)


# ----- X -----------------------------------------------------------------------------------------


def x_weighted_length(text: str) -> int:
    """X's count, by X's own library (the reference)."""
    return int(twitter_text.parse_tweet(text).weightedLength)


_X_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_EMOJI_CLUSTER = regex.compile(
    r"\p{Emoji_Presentation}"  # 😷, 👨 … shown as emoji by default
    r"|\p{Extended_Pictographic}\uFE0F"  # 🏳️, ❤️: text-default, asked as emoji
    r"|\p{Regional_Indicator}{2}"  # a flag
    r"|[0-9#*]\uFE0F?\u20E3"  # a keycap
)


def _x_weight(char: str) -> int:
    code = ord(char)
    return 1 if any(low <= code <= high for low, high in _X_LIGHT) else 2


def x_weighted_length_own(text: str) -> int:
    """X's count from the twitter-text v3 configuration, without twitter-text.

    Links here are only those with a scheme (twitter-text also counts a bare "example.com" as a
    link); an emoji is a grapheme cluster holding an emoji-presentation character, a pictograph
    asked for as emoji (U+FE0F), a flag or a keycap.
    """
    normalised = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    total = 0
    position = 0
    for start, end in links(normalised, x=True):
        total += _x_plain_weight(normalised[position:start]) + X_URL_LENGTH
        position = end
    return total + _x_plain_weight(normalised[position:])


def _x_plain_weight(text: str) -> int:
    total = 0
    for cluster in graphemes(text):
        if _EMOJI_CLUSTER.search(cluster):
            total += 2
        else:
            total += sum(_x_weight(char) for char in cluster)
    return total


# ----- Mastodon ----------------------------------------------------------------------------------

# Mastodon's Account::MENTION_RE: "@user" or "@user@domain", not inside a word or a path.
_MENTION = regex.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@[\w]+(?:[.-][\w]+)*)?", regex.IGNORECASE
)


def mastodon_length(text: str) -> int:
    """Grapheme clusters of the text with each http(s) link as 23 and ``@user@domain`` as
    ``@user``, as Mastodon's ``StatusLengthValidator`` counts."""
    spans = [(start, end, "x" * MASTODON_URL_LENGTH) for start, end in links(text)]
    spans += [(m.start(), m.end(), "@" + m.group(1)) for m in _MENTION.finditer(text)]
    return grapheme_count(_replace_spans(text, spans))


# ----- Bluesky -----------------------------------------------------------------------------------


def bluesky_graphemes(text: str) -> int:
    return grapheme_count(text)


def bluesky_bytes(text: str) -> int:
    return utf8_bytes(text)


# ----- Instagram ---------------------------------------------------------------------------------

# "#" and letters, marks, digits or underscores of any script, not glued to a word before it (nor
# an HTML entity's "&#").
_HASHTAG = regex.compile(r"(?<![\p{L}\p{M}\p{N}_&])#[\p{L}\p{M}\p{N}_]+")


def instagram_characters(text: str) -> int:
    return len(text)


def instagram_hashtags(text: str) -> int:
    return len(_HASHTAG.findall(text))


# ----- LinkedIn ----------------------------------------------------------------------------------

LINKEDIN_RESERVED = "\\|{}@[]()<>#*_~"
# Characters that end a link in the little format (they would be markup).
_LINK_STOPS = "<>(){}[]|\\"


def linkedin_little(text: str) -> str:
    """``text`` as LinkedIn's little format: reserved characters escaped, except inside a link
    (up to its first bracket or bar, without trailing punctuation) and a hashtag's leading "#"."""
    verbatim: set[int] = set()
    for start, end in links(text):
        stop = next((i for i in range(start, end) if text[i] in _LINK_STOPS), end)
        while stop > start and text[stop - 1] in _TRAILING:
            stop -= 1
        verbatim.update(range(start, stop))
    for index, char in enumerate(text):
        starts_word = index == 0 or text[index - 1].isspace()
        next_is_word = index + 1 < len(text) and (
            text[index + 1].isalnum() or text[index + 1] == "_"
        )
        if char == "#" and starts_word and next_is_word:
            verbatim.add(index)
    return "".join(
        "\\" + char if char in LINKEDIN_RESERVED and index not in verbatim else char
        for index, char in enumerate(text)
    )


def linkedin_length(text: str) -> int:
    return utf16_units(linkedin_little(text))


# ----- every rule of a network -------------------------------------------------------------------


def measures(
    network: str, text: str, *, max_characters: int | None = None
) -> list[tuple[str, int, int]]:
    """Each of ``network``'s rules as ``(unit, length, limit)``. ``network`` is its name ("x",
    "bluesky" …; Crier's ``Network`` values); ``max_characters`` replaces the main limit."""

    def main(default: int) -> int:
        return max_characters if max_characters is not None else default

    if network == "x":
        return [("weighted characters", x_weighted_length(text), main(X_LIMIT))]
    if network == "mastodon":
        return [("characters", mastodon_length(text), main(MASTODON_DEFAULT_LIMIT))]
    if network == "bluesky":
        return [
            ("graphemes", bluesky_graphemes(text), main(BLUESKY_GRAPHEMES)),
            ("UTF-8 bytes", bluesky_bytes(text), BLUESKY_BYTES),
        ]
    if network == "instagram":
        return [
            ("characters", instagram_characters(text), main(INSTAGRAM_CHARACTERS)),
            ("hashtags", instagram_hashtags(text), INSTAGRAM_HASHTAGS),
        ]
    if network == "linkedin":
        return [("escaped characters", linkedin_length(text), main(LINKEDIN_CHARACTERS))]
    limits = {
        "facebook": FACEBOOK_CHARACTERS,
        "statuspage": STATUSPAGE_CHARACTERS,
        "webhook": WEBHOOK_CHARACTERS,
        "site": SITE_CHARACTERS,
    }
    return [("characters", len(text), main(limits[network]))]


def problems(network: str, text: str, *, max_characters: int | None = None) -> list[str]:
    """The rules ``text`` breaks on ``network``, as ``"length/limit unit"``; empty if none."""
    return [
        f"{length}/{limit} {unit}"
        for unit, length, limit in measures(network, text, max_characters=max_characters)
        if length > limit
    ]
