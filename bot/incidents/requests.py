"""What people ask for, validated before anything is written: declare, update, resolve, edit."""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field
from itertools import dropwhile

import grapheme

from bot.config import CrierConfig, Network, Service, Severity
from bot.errors import InvalidInput
from bot.storage.models import IncidentStatus

SUMMARY_MAX = 150
DETAIL_MAX = 1000
MIN_NEXT_UPDATE = 5
MAX_NEXT_UPDATE = 24 * 60


@dataclass(frozen=True)
class DeclareRequest:
    service: str
    summary: str
    severity: Severity | None = None
    status: IncidentStatus = IncidentStatus.INVESTIGATING
    what_users_see: str = ""
    what_we_are_doing: str = ""
    next_update_minutes: int | None = None
    channels: tuple[Network, ...] | None = None
    # A service the catalog does not list ("Other" in the form): declared by its free name, so
    # a real outage is never blocked by the catalog. Its posts link to the organisation's help.
    unlisted: bool = False


@dataclass(frozen=True)
class UpdateRequest:
    status: IncidentStatus
    what_users_see: str = ""
    what_we_are_doing: str = ""
    next_update_minutes: int | None = None
    # Changed from this update on, once it is approved (None: as they are).
    severity: Severity | None = None
    channels: tuple[Network, ...] | None = None


@dataclass(frozen=True)
class ResolveRequest:
    what_happened: str = ""
    still_having_trouble: str = ""
    # Nothing was wrong after all: the all-clear says so (or, with nothing published yet, the
    # incident is closed at once, as any never-public one).
    false_alarm: bool = False


@dataclass(frozen=True)
class EditRequest:
    texts: dict[Network, str] = field(default_factory=dict)


# Line breaks of every kind become "\n" (a lone "\r" would otherwise vanish with the controls).
_LINE_BREAKS = str.maketrans({"\r": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n"})
# Bidi embeddings, overrides and isolates: they can make a text read other than it is written
# ("Trojan Source"). The marks LRM, RLM and ALM are kept: right-to-left text needs them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_REGIONAL_INDICATORS = set(range(0x1F1E6, 0x1F200))


def forbidden(ch: str) -> bool:
    """A character that cleaning removes: a control (but newline and tab), a bidi control, or a
    lone surrogate (which no database or network can store)."""
    return ch in BIDI_CONTROLS or (unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t")


def _strip(text: str) -> str:
    """Strip whitespace at both ends by whole grapheme clusters: a space that carries a
    combining mark, or that ends a cluster with a prepended sign, is a character people see."""
    if not text or not (text[0].isspace() or text[-1].isspace()):
        return text
    clusters = list(dropwhile(str.isspace, grapheme.graphemes(text)))
    return "".join(reversed(list(dropwhile(str.isspace, reversed(clusters)))))


def clean(value: str | None) -> str:
    """The text people typed, without what can hide or garble it, and kept whole otherwise.

    Controls (but newline and tab) and the bidi controls go; everything that builds a character
    stays: zero-width joiners and non-joiners (the family emoji, the rainbow flag, Persian),
    LRM/RLM/ALM, variation selectors, emoji tag characters (the Scottish flag), and characters
    newer than this Python's Unicode tables (new emoji). Removing a character never splits a
    grapheme cluster that did not hold it: where it stood between two regional indicators (half
    a flag, a control, then a whole flag) it becomes a space, so the flags do not pair anew.
    """
    text = (value or "").replace("\r\n", "\n").translate(_LINE_BREAKS)
    kept: list[str] = []
    dropped = False
    for ch in text:
        if forbidden(ch):
            dropped = True
            continue
        if dropped and kept and {ord(kept[-1]), ord(ch)} <= _REGIONAL_INDICATORS:
            kept.append(" ")
        kept.append(ch)
        dropped = False
    return _strip("".join(kept))


def clean_text(value: str | None, *, field_name: str, limit: int, required: bool = False) -> str:
    """``clean`` the value, refuse an empty required one and an over-long one, the field named."""
    text = clean(value)
    invisible = ("Cf", "Mn", "Me")
    if required and all(ch.isspace() or unicodedata.category(ch) in invisible for ch in text):
        raise InvalidInput(f"Please fill in {field_name}.", {field_name: "This is required."})
    if len(text) > limit:
        raise InvalidInput(
            f"{field_name} is {len(text)} characters; the most is {limit}.",
            {field_name: f"{len(text)} characters; please keep it to {limit}."},
        )
    return text


def find_service(config: CrierConfig, name: str, *, unlisted: bool = False) -> Service:
    """The catalog's service called ``name``; with ``unlisted``, one of that free name if the
    catalog has none (its own severity and channels: the organisation's defaults)."""
    service = config.find_service(name)
    if service is not None:
        return service
    if unlisted:
        label = clean_text(name, field_name="service", limit=60, required=True)
        return Service(name=label)
    names = [s.name for s in config.services]
    keys = names + [a for s in config.services for a in s.aliases]
    close = difflib.get_close_matches(name.casefold(), [k.casefold() for k in keys], n=1)
    match = config.find_service(close[0]) if close else None
    hint = f" Did you mean *{match.name}*?" if match else ""
    raise InvalidInput(
        f"I don't know a service called “{name.strip()[:60]}”.{hint} "
        f"Known services: {', '.join(names)}. For another one, open the form (`/outage` "
        "alone, or *outage* in Teams) and pick *Other*.",
        {"service": "Pick a service from the catalog."},
    )


def check_next_update(minutes: int | None) -> int | None:
    if minutes is None:
        return None
    if not MIN_NEXT_UPDATE <= minutes <= MAX_NEXT_UPDATE:
        raise InvalidInput(
            f"The next update must be {MIN_NEXT_UPDATE} to {MAX_NEXT_UPDATE} minutes away.",
            {"next_update_minutes": f"Between {MIN_NEXT_UPDATE} and {MAX_NEXT_UPDATE} minutes."},
        )
    return minutes


def parse_minutes(raw: str | None) -> int | None:
    """Minutes from a form field: empty means no promise; anything else must be a whole number."""
    text = (raw or "").strip().lower().removesuffix("minutes").removesuffix("min").strip()
    if not text:
        return None
    # isdecimal, not isdigit: int() refuses superscripts like "²", which isdigit accepts.
    if not (text.isdecimal() and len(text) < 10):
        raise InvalidInput(
            "The next update must be a number of minutes, like 30.",
            {"next_update_minutes": "A whole number of minutes, like 30."},
        )
    return check_next_update(int(text))


def check_channels(config: CrierConfig, channels: tuple[Network, ...]) -> tuple[Network, ...]:
    if not channels:
        raise InvalidInput("Pick at least one channel.", {"channels": "Pick at least one channel."})
    off = [c.value for c in channels if not config.channel_enabled(c)]
    if off:
        raise InvalidInput(
            f"These channels are not enabled in crier.yml: {', '.join(off)}.",
            {"channels": "Only enabled channels can be used."},
        )
    return tuple(dict.fromkeys(channels))


def parse_quick_declare(text: str, config: CrierConfig) -> DeclareRequest:
    """``Blackboard: cannot log in`` → a declaration with the catalog's defaults."""
    service_name, colon, summary = text.partition(":")
    if not colon or not service_name.strip() or not summary.strip():
        raise InvalidInput(
            # Both chats show this: Slack's command is /outage, Teams' message is "outage".
            "Write the service, a colon, then what is wrong — for example "
            "`Blackboard: students cannot log in`.",
        )
    service = find_service(config, service_name)
    return DeclareRequest(
        service=service.name,
        summary=clean_text(summary, field_name="summary", limit=SUMMARY_MAX, required=True),
    )
