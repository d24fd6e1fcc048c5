"""The declare, update, resolve and edit forms, read into the core's requests once for every chat.

Each platform reads its own payload (Slack's view state, a Teams card's data) behind
``SubmittedForm``; what the fields mean, their defaults and their errors are decided here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Protocol

from bot.config import CrierConfig, Network, Severity
from bot.errors import InvalidInput
from bot.incidents.labels import status
from bot.incidents.requests import (
    DeclareRequest,
    EditRequest,
    ResolveRequest,
    UpdateRequest,
    check_channels,
    parse_minutes,
)
from bot.storage.models import IncidentStatus


class FormField(StrEnum):
    """The inputs' names on every platform's forms, and the fields that ``InvalidInput`` names."""

    SERVICE = "service"
    OTHER_SERVICE = "other_service"  # its name, when SERVICE is OTHER
    SUMMARY = "summary"
    SEVERITY = "severity"
    STATUS = "status"
    USERS_SEE = "what_users_see"
    DOING = "what_we_are_doing"
    NEXT_UPDATE = "next_update_minutes"
    CHANNELS = "channels"
    WHAT_HAPPENED = "what_happened"
    STILL_TROUBLE = "still_having_trouble"
    FALSE_ALARM = "false_alarm"  # the resolve form's checkbox: nothing was wrong after all
    REASON = "reason"  # the reject form's
    CALENDAR_TEXT = "calendar_text"  # the calendar form's (Slack's; Teams schedules by command)
    CALENDAR_DATE = "calendar_date"
    CALENDAR_TIME = "calendar_time"


OTHER = "__other__"  # the service option for one the catalog does not list


def status_choices() -> list[tuple[str, str]]:
    """The statuses a form offers, as (value, label): all but resolved, which *Resolve* sets."""
    return [(s.value, status(s)) for s in IncidentStatus if s != IncidentStatus.RESOLVED]


def severity_choices(config: CrierConfig) -> list[tuple[str, str]]:
    """The severities a form offers, as (value, label): "SEV1 · Critical"."""
    return [(s.value, f"{s.value.upper()} · {config.severities[s].label}") for s in Severity]


class SubmittedForm(Protocol):
    """A submitted form as its platform reads it, input by input (a ``FormField`` name): what
    was typed ("" for nothing), the option picked in a single select (or None), those picked in
    a multi-select, and the edit form's texts, one input a channel::

        request = forms.declare_request(Submission(view), config)
    """

    def text(self, name: str, /) -> str: ...
    def choice(self, name: str, /) -> str | None: ...
    def choices(self, name: str, /) -> list[str]: ...
    def texts_by_network(self) -> dict[Network, str]: ...


def texts_by_network(
    names: Iterable[str], text: Callable[[str], str], *, prefix: str
) -> dict[Network, str]:
    """The edit form's texts by channel, from its inputs named ``prefix`` + network::

    texts_by_network(card_data, submission.text, prefix="text_")  # {Network.X: "…"}
    """
    channels = {f"{prefix}{network.value}": network for network in Network}
    return {channels[name]: text(name) for name in names if name in channels}


def _status(form: SubmittedForm, default: IncidentStatus) -> IncidentStatus:
    chosen = form.choice(FormField.STATUS)
    try:
        return IncidentStatus(chosen) if chosen else default
    except ValueError:
        raise InvalidInput("Pick a status.", {FormField.STATUS: "Pick a status."}) from None


def _severity(form: SubmittedForm) -> Severity | None:
    severity = form.choice(FormField.SEVERITY)
    return Severity(severity) if severity in set(Severity) else None


def _channels(form: SubmittedForm, config: CrierConfig) -> tuple[Network, ...] | None:
    """The channels picked; None for none picked (the defaults, or as they are)."""
    try:
        channels = tuple(Network(c) for c in form.choices(FormField.CHANNELS))
    except ValueError:
        raise InvalidInput("Unknown channel.", {FormField.CHANNELS: "Unknown channel."}) from None
    return check_channels(config, channels) if channels else None


def declare_request(form: SubmittedForm, config: CrierConfig) -> DeclareRequest:
    service = form.choice(FormField.SERVICE)
    if not service:
        raise InvalidInput("Pick a service.", {FormField.SERVICE: "Pick a service."})
    unlisted = service == OTHER
    if unlisted:
        service = form.text(FormField.OTHER_SERVICE)
        if not service.strip():
            raise InvalidInput(
                "Name the service.",
                {FormField.OTHER_SERVICE: "Name the service (it is not in the catalog)."},
            )
    return DeclareRequest(
        service=service,
        unlisted=unlisted,
        summary=form.text(FormField.SUMMARY),
        severity=_severity(form),
        status=_status(form, IncidentStatus.INVESTIGATING),
        what_users_see=form.text(FormField.USERS_SEE),
        what_we_are_doing=form.text(FormField.DOING),
        next_update_minutes=parse_minutes(form.text(FormField.NEXT_UPDATE)),
        # Nothing picked means the service's default channels.
        channels=_channels(form, config),
    )


def update_request(form: SubmittedForm, config: CrierConfig) -> UpdateRequest:
    return UpdateRequest(
        status=_status(form, IncidentStatus.IDENTIFIED),
        what_users_see=form.text(FormField.USERS_SEE),
        what_we_are_doing=form.text(FormField.DOING),
        next_update_minutes=parse_minutes(form.text(FormField.NEXT_UPDATE)),
        severity=_severity(form),
        channels=_channels(form, config),
    )


def resolve_request(form: SubmittedForm) -> ResolveRequest:
    return ResolveRequest(
        what_happened=form.text(FormField.WHAT_HAPPENED),
        still_having_trouble=form.text(FormField.STILL_TROUBLE),
        false_alarm=bool(form.choices(FormField.FALSE_ALARM)),
    )


def edit_request(form: SubmittedForm) -> EditRequest:
    return EditRequest(texts=form.texts_by_network())
