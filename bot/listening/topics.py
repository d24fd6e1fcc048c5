"""What a burst of replies is mostly about, so a thread reads "37 new replies, mostly about
“Duo prompt” (Mastodon 20, Bluesky 17)" instead of 37 messages.

Counting, not a model: the organisation's own words first (its services, their aliases, its
watch terms), else the phrase most replies share. Pure: no database, no HTTP, no chat imports.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# A known term must be in this share of the texts to be what they are "mostly about".
KNOWN_TERM_SHARE = 0.3
# Any other word or pair of words: in at least this many texts, and this share of them.
PHRASE_MIN_TEXTS = 3
PHRASE_SHARE = 0.2
# A pair of words is preferred to its own single word when it covers half of that word's
# texts: "Duo prompt" says more than "Duo", and most who write one write the other.
PAIR_COVERS = 0.5

# Function words and the filler of complaints ("still down, anyone else?"): never a topic.
_STOP_LIST = """
    a about above after again against all also am an and any anyone are around as at back be
    because been before being below between both but by can cannot could did does doing done
    down during each else even ever every few for from further get gets getting going gone got
    had has have having he her here hers herself him himself his how however into is it its
    itself just know last let like lol many may maybe me might more most much must my myself
    need needs new no nor not now off okay once one only onto or other our ours ourselves out
    over own please pls really right same says see seems she should since some someone still
    such sure than thank thanks that the their theirs them themselves then there these they
    thing things think this those though through thx today too try trying under until very
    via want was way we well were what when where whether which while who whom whose why will
    with without work working works would yeah yes yet you your yours yourself yourselves
    amp http https www com org edu rt
"""
STOP_WORDS = frozenset(_STOP_LIST.split())

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@[\w.-]+(?:@[\w.-]+)?")
_HASHTAG_MARK = re.compile(r"(?<![\w#])#(?=\w)")
# A phrase never runs across a sentence or a clause.
_CLAUSE_BREAK = re.compile(r"[.!?;:,()\[\]{}\"“”«»…|/\n]+")
_WORD = re.compile(r"\w+(?:['\u2019-]\w+)*")


def clean(text: str) -> str:
    """``text`` without links and handles, hashtags as their words ("#wifi" -> "wifi")."""
    text = _URL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    return _HASHTAG_MARK.sub("", text)


def mostly_about(texts: Sequence[str], *, known_terms: Sequence[str] = ()) -> str | None:
    """What ``texts`` are mostly about, or None when nothing stands out.

    First the most frequent of ``known_terms`` (service names and aliases, watch terms: matched
    case-insensitively, as whole words) found in at least 30 % of the texts, given back as
    configured; else the most frequent meaningful pair of words or word in at least 3 texts and
    20 % of them, given back as it was most often written. Each text counts once per phrase.

        >>> mostly_about(["The Duo prompt never comes", "duo prompt??", "Duo prompt is gone"])
        'Duo prompt'
    """
    cleaned = [clean(t) for t in texts]
    if not cleaned:
        return None
    return _known(cleaned, known_terms) or _phrase(cleaned)


def _known(texts: Sequence[str], terms: Sequence[str]) -> str | None:
    found: list[tuple[int, int, int, str]] = []
    for order, term in enumerate(dict.fromkeys(t.strip() for t in terms if t.strip())):
        # Whole words by hand, not \b: "Wi-Fi" and "C++" end in punctuation, where \b fails.
        words = r"\s+".join(re.escape(w) for w in term.split())
        pattern = re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)
        hits = sum(1 for text in texts if pattern.search(text))
        if hits and hits >= KNOWN_TERM_SHARE * len(texts):
            # Most texts first; on a tie the longer, more precise term ("Duo prompt" over
            # "Duo"), then the one crier.yml lists first.
            found.append((-hits, -len(term), order, term))
    return min(found)[3] if found else None


@dataclass
class _Phrase:
    texts: int = 0  # how many texts hold it
    first_seen: int = 0  # in reading order, so ties go the same way every time
    written: Counter[str] = field(default_factory=Counter)  # each spelling as it was written


def _phrase(texts: Sequence[str]) -> str | None:
    phrases: dict[tuple[str, ...], _Phrase] = {}
    for text in texts:
        seen: set[tuple[str, ...]] = set()
        for key, spelling in _phrases_in(text):
            phrase = phrases.setdefault(key, _Phrase(first_seen=len(phrases)))
            phrase.written[spelling] += 1
            if key not in seen:
                seen.add(key)
                phrase.texts += 1
    least = max(PHRASE_MIN_TEXTS, math.ceil(PHRASE_SHARE * len(texts)))
    ranked = sorted(
        (p for p in phrases.items() if p[1].texts >= least),
        key=lambda item: (-item[1].texts, -len(item[0]), item[1].first_seen),
    )
    if not ranked:
        return None
    key, best = ranked[0]
    if len(key) == 1:
        pairs = [item for item in ranked if len(item[0]) == 2 and key[0] in item[0]]
        if pairs and pairs[0][1].texts >= PAIR_COVERS * best.texts:
            best = pairs[0][1]
    return best.written.most_common(1)[0][0]


def _phrases_in(text: str) -> list[tuple[tuple[str, ...], str]]:
    """Each meaningful word and each pair of neighbouring meaningful words in ``text``: the
    key (lower case) and the spelling as written."""
    found: list[tuple[tuple[str, ...], str]] = []
    for clause in _CLAUSE_BREAK.split(text):
        previous: tuple[str, str] | None = None
        for match in _WORD.finditer(clause):
            written = match.group()
            key = _meaningful(written)
            if key is None:
                previous = None  # "prompt is broken" is not the pair "prompt broken"
                continue
            found.append(((key,), written))
            if previous is not None:
                found.append(((previous[0], key), f"{previous[1]} {written}"))
            previous = (key, written)
    return found


def _meaningful(word: str) -> str | None:
    """The word's key, or None for a stop word, a number, a contraction or a short word."""
    key = word.casefold().replace("\u2019", "'")  # a typographic apostrophe
    if key.endswith("'s"):
        key = key[:-2]  # "Duo's" is about Duo
    if "'" in key or key in STOP_WORDS:
        return None  # "can't", "it's", "we're": function words, like the stop list
    if len(key) < 3 or not any(c.isalpha() for c in key):
        return None  # "ok", "2", "404": but "VPN" and "2FA" are topics
    return key


def burst_line(count: int, about: str | None, network_counts: Mapping[str, int]) -> str:
    """The sentence for a burst, plain text (each chat renders and escapes it its own way).

    ``network_counts`` maps each network's label as people read it to its share of the burst.

        >>> burst_line(37, "Duo prompt", {"Mastodon": 20, "Bluesky": 17})
        '37 new replies, mostly about “Duo prompt” (Mastodon 20, Bluesky 17)'
    """
    line = f"{count:,} new {'reply' if count == 1 else 'replies'}"
    if about:
        line += f", mostly about “{about}”"
    # Busiest network first; equal ones by name, so the line is the same each time.
    shown = sorted((item for item in network_counts.items() if item[1] > 0), key=_busiest)
    if shown:
        line += " (" + ", ".join(f"{label} {n:,}" for label, n in shown) + ")"
    return line


def _busiest(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])
