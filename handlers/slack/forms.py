"""Turn Slack modal submissions into the core's requests, and core errors into field errors."""

from __future__ import annotations

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
from handlers.slack.ids import TEXT_BLOCK_PREFIX, Field
from handlers.slack.modals import Submission


def _status(form: Submission, default: IncidentStatus) -> IncidentStatus:
    chosen = form.choice(Field.STATUS)
    try:
        return IncidentStatus(chosen) if chosen else default
    except ValueError:
        raise InvalidInput("Pick a status.", {Field.STATUS: "Pick a status."}) from None


def declare_request(form: Submission, config: CrierConfig) -> DeclareRequest:
    service = form.choice(Field.SERVICE)
    if not service:
        raise InvalidInput("Pick a service.", {Field.SERVICE: "Pick a service."})
    severity = form.choice(Field.SEVERITY)
    channel_names = form.choices(Field.CHANNELS)
    try:
        channels = tuple(Network(c) for c in channel_names)
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
    return EditRequest(texts=form.texts_by_network())


def field_errors(error: InvalidInput, *, block_ids: list[str]) -> dict[str, str]:
    """Map the core's field names onto the modal's block ids (``x`` → ``text_x`` on edits).

    Slack refuses errors for blocks that are not in the view, so anything unmatched lands on
    the first input.
    """
    errors: dict[str, str] = {}
    for name, message in (error.fields or {"": error.message}).items():
        block_id = next((b for b in (name, f"{TEXT_BLOCK_PREFIX}{name}") if b in block_ids), None)
        target = block_id or (block_ids[0] if block_ids else name)
        errors[target] = (errors.get(target, "") + " " + message).strip()[:150]
    return errors
