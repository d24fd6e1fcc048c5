"""Read what a card sent (its action's data, inputs merged in) into the core's requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.config import CrierConfig, Network, Severity
from bot.errors import InvalidInput
from bot.models import IncidentStatus
from bot.requests import (
    DeclareRequest,
    EditRequest,
    ResolveRequest,
    UpdateRequest,
    check_channels,
    parse_minutes,
)
from handlers.teams.ids import TEXT_PREFIX, Data, Field


class Submission:
    """The data of an ``Action.Execute``: Crier's own keys and the form's inputs (strings)."""

    def __init__(self, data: Mapping[str, Any] | None) -> None:
        self.data: dict[str, Any] = dict(data or {})

    def text(self, key: str) -> str:
        value = self.data.get(key)
        return value if isinstance(value, str) else ""

    def choices(self, key: str) -> list[str]:
        """A multi-select arrives as one comma-separated string."""
        return [part.strip() for part in self.text(key).split(",") if part.strip()]

    def number(self, key: str) -> int:
        value = self.data.get(key)
        if isinstance(value, bool):
            return 0
        if isinstance(value, int):
            return value
        text = str(value or "").strip()
        return int(text) if text.isdigit() else 0

    @property
    def inputs(self) -> dict[str, Any]:
        """What the person typed, to show the form again with it."""
        own = {str(d) for d in Data}
        return {k: v for k, v in self.data.items() if k not in own}


def _status(form: Submission, default: IncidentStatus) -> IncidentStatus:
    chosen = form.text(Field.STATUS)
    try:
        return IncidentStatus(chosen) if chosen else default
    except ValueError:
        raise InvalidInput("Pick a status.", {Field.STATUS: "Pick a status."}) from None


def declare_request(form: Submission, config: CrierConfig) -> DeclareRequest:
    service = form.text(Field.SERVICE)
    if not service:
        raise InvalidInput("Pick a service.", {Field.SERVICE: "Pick a service."})
    severity = form.text(Field.SEVERITY)
    try:
        channels = tuple(Network(c) for c in form.choices(Field.CHANNELS))
    except ValueError:
        raise InvalidInput("Unknown channel.", {Field.CHANNELS: "Unknown channel."}) from None
    return DeclareRequest(
        service=service,
        summary=form.text(Field.SUMMARY),
        severity=Severity(severity) if severity in set(Severity) else None,
        status=_status(form, IncidentStatus.INVESTIGATING),
        what_users_see=form.text(Field.USERS_SEE),
        what_we_are_doing=form.text(Field.DOING),
        next_update_minutes=parse_minutes(form.text(Field.NEXT_UPDATE)),
        channels=check_channels(config, channels) if channels else None,
    )


def update_request(form: Submission) -> UpdateRequest:
    return UpdateRequest(
        status=_status(form, IncidentStatus.IDENTIFIED),
        what_users_see=form.text(Field.USERS_SEE),
        what_we_are_doing=form.text(Field.DOING),
        next_update_minutes=parse_minutes(form.text(Field.NEXT_UPDATE)),
    )


def resolve_request(form: Submission) -> ResolveRequest:
    return ResolveRequest(
        what_happened=form.text(Field.WHAT_HAPPENED),
        still_having_trouble=form.text(Field.STILL_TROUBLE),
    )


def edit_request(form: Submission) -> EditRequest:
    texts: dict[Network, str] = {}
    for key in form.data:
        name = key.removeprefix(TEXT_PREFIX)
        if key.startswith(TEXT_PREFIX) and name in Network.__members__.values():
            texts[Network(name)] = form.text(key)
    return EditRequest(texts=texts)
