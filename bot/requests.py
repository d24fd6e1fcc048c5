"""What people ask for, validated before anything is written: declare, update, resolve, edit."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from bot.config import CrierConfig, Network, Service, Severity
from bot.errors import InvalidInput
from bot.models import IncidentStatus

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


@dataclass(frozen=True)
class UpdateRequest:
    status: IncidentStatus
    what_users_see: str = ""
    what_we_are_doing: str = ""
    next_update_minutes: int | None = None


@dataclass(frozen=True)
class ResolveRequest:
    what_happened: str = ""
    still_having_trouble: str = ""


@dataclass(frozen=True)
class EditRequest:
    texts: dict[Network, str] = field(default_factory=dict)


def clean_text(value: str | None, *, field_name: str, limit: int, required: bool = False) -> str:
    """Strip, refuse control characters and over-long values, with the field named."""
    text = (value or "").strip()
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    if required and not text:
        raise InvalidInput(f"Please fill in {field_name}.", {field_name: "This is required."})
    if len(text) > limit:
        raise InvalidInput(
            f"{field_name} is {len(text)} characters; the most is {limit}.",
            {field_name: f"{len(text)} characters; please keep it to {limit}."},
        )
    return text


def find_service(config: CrierConfig, name: str) -> Service:
    service = config.find_service(name)
    if service is not None:
        return service
    names = [s.name for s in config.services]
    keys = names + [a for s in config.services for a in s.aliases]
    close = difflib.get_close_matches(name.casefold(), [k.casefold() for k in keys], n=1)
    hint = ""
    if close:
        match = config.find_service(close[0])
        hint = f" Did you mean *{match.name}*?" if match else ""
    raise InvalidInput(
        f"I don't know a service called “{name.strip()[:60]}”.{hint} "
        f"Known services: {', '.join(names)}.",
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
