"""Planned maintenance in Slack: `/outage maintenance` (a form that plans a window and its series
of posts), *Approve all* / *Reject* on the series, *Approve* / *Reject* on an extension or a
cancellation, and *Complete* / *Extend by…* once the window has ended.

Who may decide is the core's to say (``MaintenanceDesk``): these listeners parse, call, and
redraw the clicked message with what happened; a refusal is told to the person who clicked.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    DatePickerElement,
    InputBlock,
    Option,
    StaticMultiSelectElement,
    StaticSelectElement,
    TimePickerElement,
)

from bot.config import CrierConfig, Network
from bot.core import Core
from bot.drafting.post_times import format_duration, format_time
from bot.errors import InvalidInput
from bot.maintenance.series import (
    NOT_FOR_MAINTENANCE,
    TEXT_MAX,
    TITLE_MAX,
    MaintenanceRequest,
    MaintenanceShown,
    MaintenanceView,
    ShowReason,
)
from bot.maintenance.window import FURTHEST_AHEAD, local_window, wall_clock
from bot.ports import Actor
from bot.views import NETWORK_LABELS
from handlers.slack.calendar import CHANNEL_ID
from handlers.slack.calendar_message import who
from handlers.slack.common import Click, does_once, submits
from handlers.slack.ids import INPUT_ACTION, Action, MaintenanceField, View
from handlers.slack.maintenance_message import maintenance_message, shown_revision
from handlers.slack.messages import Message, note
from handlers.slack.modals import Submission, modal, text_input

F = MaintenanceField
# What the form offers, as (value, label, how long before the start; None: at once).
ANNOUNCE_CHOICES: tuple[tuple[str, str, timedelta | None], ...] = (
    ("3d", "3 days before", timedelta(days=3)),
    ("1w", "1 week before", timedelta(weeks=1)),
    ("1d", "1 day before", timedelta(days=1)),
    ("now", "At once when approved", None),
)
REMIND_CHOICES: tuple[tuple[str, str, timedelta | None], ...] = (
    ("60", "1 hour", timedelta(hours=1)),
    ("30", "30 minutes", timedelta(minutes=30)),
    ("120", "2 hours", timedelta(hours=2)),
    ("none", "None", None),
)
EXTEND = re.compile(f"^{Action.MAINTENANCE_EXTEND}_(\\d{{1,4}})$")  # minutes
ERROR_MAX = 150  # what Slack shows under an input (``common.field_errors`` cuts the rest)
AHEAD = timedelta(days=7)  # the form's first day: announced three days before, by default


def maintenance_modal(
    config: CrierConfig,
    *,
    today: date,
    channel_id: str | None = None,
    editing: tuple[int, MaintenanceRequest] | None = None,
    opened_from: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The form of `/outage maintenance`; ``channel_id``: where it was typed, where the series is
    shown to the approvers when crier.yml names no comms channel. ``editing``: a maintenance's
    id and its values as they are, to fill in the form that edits it (*Edit*), and
    ``opened_from``: what its submission needs to know of the message it was opened from."""
    zone = config.organisation.zone
    current = editing[1] if editing else None
    networks = [n for n in config.enabled_channels if n not in NOT_FOR_MAINTENANCE]
    channels = [Option(value=n.value, label=NETWORK_LABELS[n]) for n in networks]
    ticked = [o for o in channels if current is None or o.value in current.channels]
    services = [Option(value=s.name, label=s.name) for s in config.services][:100]
    chosen = [o for o in services if current and o.value in current.services]
    first_day = (today + AHEAD).isoformat()
    starts = current.window.starts_at.astimezone(zone) if current else None
    ends = current.window.ends_at.astimezone(zone) if current else None
    saying = (
        "Saving drafts the series again, from these values: it needs approval again, and what "
        "the old series had not yet published never goes out."
        if current
        else "Crier drafts the series (announcement, reminder, start, completion) from your "
        "words; an approver (not you) approves it once, and each post goes out at its time."
    )
    which = f"*Maintenance #{editing[0]}.* " if editing else ""
    blocks: list[Block] = [
        note(f"{which}{saying} Days and times are in {zone}."),
        InputBlock(
            block_id=F.SERVICES,
            label="Services",
            element=StaticMultiSelectElement(
                action_id=INPUT_ACTION,
                placeholder="Choose…",
                options=services,
                initial_options=chosen or None,
            ),
        ),
        text_input(
            F.TITLE,
            "What the work is",
            optional=False,
            max_length=TITLE_MAX,
            initial=current.title if current else None,
            placeholder="upgrading to the new version",
        ),
        text_input(
            F.NOTICE,
            "What users will notice",
            multiline=True,
            max_length=TEXT_MAX,
            initial=current.what_users_notice if current else None,
            placeholder="You cannot sign in to Blackboard.",
        ),
        text_input(
            F.BEFOREHAND,
            "What to do beforehand",
            multiline=True,
            max_length=TEXT_MAX,
            initial=current.what_to_do if current else None,
            placeholder="Submit assignments early.",
        ),
        _day(F.START_DAY, "Start day", starts.date().isoformat() if starts else first_day),
        _time(F.START_TIME, f"Start time ({zone})", f"{starts:%H:%M}" if starts else None),
        _day(F.END_DAY, "End day", ends.date().isoformat() if ends else first_day),
        _time(F.END_TIME, f"End time ({zone})", f"{ends:%H:%M}" if ends else None),
        _select(F.ANNOUNCE, "When to announce it", ANNOUNCE_CHOICES, _lead(current)),
        _select(
            F.REMIND,
            "Reminder before the start",
            REMIND_CHOICES,
            _length(current.remind_before, REMIND_CHOICES) if current else None,
        ),
        InputBlock(
            block_id=F.CHANNELS,
            label="Channels",
            element=CheckboxesElement(
                action_id=INPUT_ACTION, options=channels, initial_options=ticked or None
            ),
        ),
    ]
    if editing is None:
        metadata = {"channel_id": channel_id} if channel_id else None
        return modal(View.MAINTENANCE, "Plan maintenance", "Propose", blocks, metadata)
    edited = {**(opened_from or {}), "maintenance_id": editing[0], "channel_id": channel_id}
    return modal(View.MAINTENANCE_EDIT, "Edit maintenance", "Draft again", blocks, edited)


def _lead(current: MaintenanceRequest | None) -> str | None:
    """The announcement's choice that gives ``current``'s announcement time; "at once" when
    none does (it was announced at once, or planned too late for its lead)."""
    if current is None or current.announce_at is None:
        return None
    lead = current.window.starts_at - current.announce_at
    return _length(lead, ANNOUNCE_CHOICES) or "now"


def _length(
    length: timedelta | None, choices: tuple[tuple[str, str, timedelta | None], ...]
) -> str | None:
    return next((value for value, _, given in choices if given == length), None)


def _day(block_id: str, label: str, initial: str) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        element=DatePickerElement(action_id=INPUT_ACTION, initial_date=initial),
    )


def _select(
    block_id: str,
    label: str,
    choices: tuple[tuple[str, str, timedelta | None], ...],
    picked: str | None = None,
) -> InputBlock:
    """A single choice, ``picked`` (else the first, the default) picked."""
    options = [Option(value=value, label=text) for value, text, _ in choices]
    initial = next((o for o in options if o.value == picked), options[0])
    return InputBlock(
        block_id=block_id,
        label=label,
        element=StaticSelectElement(
            action_id=INPUT_ACTION, options=options, initial_option=initial
        ),
    )


def _time(block_id: str, label: str, initial: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        element=TimePickerElement(action_id=INPUT_ACTION, initial_time=initial),
    )


# --- reading the form --------------------------------------------------------------------------


def maintenance_request(
    form: Submission, config: CrierConfig, *, now: datetime
) -> MaintenanceRequest:
    """The form as the core's request; InvalidInput on the input to fix (the window's problems
    on its start or end)."""
    zone = config.organisation.zone
    start_day, start = _picked_day(form, F.START_DAY), _picked_time(form, F.START_TIME)
    end_day, end = _picked_day(form, F.END_DAY), _picked_time(form, F.END_TIME)
    for what, day, at, block in (
        ("start", start_day, start, F.START_TIME),
        ("end", end_day, end, F.END_TIME),
    ):
        try:
            wall_clock(day, at, zone, what=what)
        except InvalidInput as exc:
            said = exc.message
            if len(said) > ERROR_MAX:  # a long zone name: the field has the day already
                said = f"{at:%H:%M} does not exist that day (the clocks go forward): pick another."
            raise InvalidInput(exc.message, {block: said}) from None
    try:
        window = local_window(start_day, start, end_day, end, zone)
    except InvalidInput as exc:  # it ends before it starts, or lasts over a week
        raise InvalidInput(exc.message, {F.END_TIME: exc.message}) from None
    if window.starts_at <= now:
        said = "That time has passed: pick a later start."
        raise InvalidInput(said, {F.START_TIME: said})
    if window.starts_at - now > FURTHEST_AHEAD:
        said = "A maintenance is planned at most a year ahead."
        raise InvalidInput(said, {F.START_DAY: said})
    try:
        channels = tuple(Network(c) for c in form.choices(F.CHANNELS))
    except ValueError:
        raise InvalidInput("Unknown channel.", {F.CHANNELS: "Unknown channel."}) from None
    notice = _chosen(form, F.ANNOUNCE, ANNOUNCE_CHOICES)
    return MaintenanceRequest(
        services=tuple(form.choices(F.SERVICES)),
        title=form.text(F.TITLE),
        what_users_notice=form.text(F.NOTICE),
        what_to_do=form.text(F.BEFOREHAND),
        window=window,
        # At once: now, which the approval's own time then overtakes.
        announce_at=now if notice is None else window.starts_at - notice,
        remind_before=_chosen(form, F.REMIND, REMIND_CHOICES),
        channels=channels,
    )


def _picked_day(form: Submission, block_id: str) -> date:
    value = form.raw(block_id).get("selected_date")
    try:
        return date.fromisoformat(value if isinstance(value, str) else "")
    except ValueError:
        raise InvalidInput("Pick a day.", {block_id: "Pick a day."}) from None


def _picked_time(form: Submission, block_id: str) -> time:
    value = form.raw(block_id).get("selected_time")
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}", value):
        raise InvalidInput("Pick a time.", {block_id: "Pick a time."})
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Pick a time.", {block_id: "Pick a time."}) from None


def _chosen(
    form: Submission, block_id: str, choices: tuple[tuple[str, str, timedelta | None], ...]
) -> timedelta | None:
    """The picked option's length; the first (the default) when none was picked."""
    picked = form.choice(block_id)
    return next((length for value, _, length in choices if value == picked), choices[0][2])


async def _plan(core: Core, actor: Actor, form: Submission) -> str:
    request = maintenance_request(form, core.config, now=core.clock.now())
    where = form.channel_id if CHANNEL_ID.match(form.channel_id) else None
    try:
        planned = await core.maintenance.propose(actor, request, where=where)
    except InvalidInput as exc:
        if exc.fields:
            raise
        # A post that would not fit, or a placeholder typed: the person's words are the fix.
        raise InvalidInput(exc.message, {F.NOTICE: exc.message}) from None
    return (
        f"Maintenance #{planned.id} is planned: an approver (not you) approves its posts, "
        "then each goes out at its time."
    )


# --- the buttons -------------------------------------------------------------------------------


async def _redraw(click: Click, message: Message) -> None:
    """The clicked message, drawn again with what happened (and no buttons)."""
    channel, message_ts = click.channel, (click.body.get("container") or {}).get("message_ts")
    if channel and isinstance(message_ts, str):
        await click.client.chat_update(channel=channel, ts=message_ts, **message)


def answered_by(click: Click) -> str:
    """ "<@U…> at 3:00 PM EST": who answered, and when."""
    return f"{who(click.actor.key)} at {now_said(click)}"


def now_said(click: Click) -> str:
    return format_time(click.core.clock.now(), click.core.config.organisation.zone)


async def show_answered(click: Click, shown: MaintenanceShown, outcome: str) -> None:
    zone = click.core.config.organisation.zone
    await _redraw(click, maintenance_message(shown, zone=zone, outcome=outcome))


async def _decide_series(click: Click, *, approve: bool) -> None:
    """*Approve all* / *Reject* on the series."""
    desk = click.core.maintenance
    action = (click.body.get("actions") or [{}])[0]
    seen = shown_revision(str(action.get("block_id", "")))  # an edit since: refused
    decide = desk.approve if approve else desk.reject
    decided = await decide(click.actor, click.number, revision=seen)
    outcome = (
        f"✅ Approved by {answered_by(click)}: each post goes out at its time."
        if approve
        else f"🚫 Rejected by {answered_by(click)}: none of its posts will go out."
    )
    await show_answered(click, MaintenanceShown(decided, ShowReason.REVIEW), outcome)


async def _decide_change(click: Click, *, approve: bool) -> None:
    """*Approve* / *Reject* on an extension or a cancellation."""
    decided = await click.core.maintenance.decide_change(
        click.actor, click.number, approved=approve
    )
    change = next((p for p in decided.posts if p.id == click.number), None)
    outcome = (
        f"✅ Approved by {answered_by(click)}: it is being published."
        if approve
        else f"🚫 Rejected by {answered_by(click)}: it will not go out."
    )
    await show_answered(click, MaintenanceShown(decided, ShowReason.CHANGE, change), outcome)


async def _complete(click: Click) -> None:
    """*Complete*: the approved completion goes out now."""
    done = await click.core.maintenance.complete(click.actor, click.number)
    outcome = f"✅ Marked complete by {answered_by(click)}: the completion is being published."
    await show_answered(click, MaintenanceShown(done, ShowReason.OVERDUE), outcome)


async def _extend(click: Click) -> None:
    """*Extend by …*: an extension drafted and shown to the approvers."""
    action = (click.body.get("actions") or [{}])[0].get("action_id", "")
    matched = EXTEND.match(str(action))
    by = timedelta(minutes=int(matched.group(1)) if matched else 0)
    desk = click.core.maintenance
    await desk.extend(click.actor, click.number, by, where=click.channel)
    still: MaintenanceView = await desk.view(click.number)
    outcome = (
        f"⏳ {who(click.actor.key)} asked at {now_said(click)} to extend it by "
        f"{format_duration(by)}: the extension waits for an approver (not whoever asked)."
    )
    await show_answered(click, MaintenanceShown(still, ShowReason.OVERDUE), outcome)


def register_maintenance(app: AsyncApp) -> None:
    app.view(View.MAINTENANCE)(submits(_plan))
    app.action(Action.MAINTENANCE_APPROVE)(does_once(partial(_decide_series, approve=True)))
    app.action(Action.MAINTENANCE_REJECT)(does_once(partial(_decide_series, approve=False)))
    app.action(Action.CHANGE_APPROVE)(does_once(partial(_decide_change, approve=True)))
    app.action(Action.CHANGE_REJECT)(does_once(partial(_decide_change, approve=False)))
    app.action(Action.MAINTENANCE_COMPLETE)(does_once(_complete))
    app.action(EXTEND)(does_once(_extend))
