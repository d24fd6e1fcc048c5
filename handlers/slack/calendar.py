"""The content calendar in Slack: `/outage calendar add` (a form that proposes a post, also
opened by *Propose a post* under `/outage calendar`'s list), *Approve* and *Reject* on a proposed
post, and *Post now* / *Skip* on a post the crisis pause held. A series' batch has its own buttons
(``calendar_batch``), and so has the list (``calendar_list``).

Who may decide is the core's to say (``ContentCalendar``): these listeners parse, call, render."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    DatePickerElement,
    InputBlock,
    Option,
    TimePickerElement,
)

from bot.config import CrierConfig, Network
from bot.core import Core
from bot.errors import InvalidInput
from bot.ports import Actor
from bot.scheduling.calendar import NOT_FOR_CALENDAR, TEXT_MAX, CalendarEntry
from bot.views import NETWORK_LABELS
from handlers.slack.calendar_batch import register_calendar_batch
from handlers.slack.calendar_list import register_calendar_list
from handlers.slack.calendar_message import calendar_message
from handlers.slack.common import Click, does_once, opens_form, submits
from handlers.slack.ids import INPUT_ACTION, Action, Field, View, indexed
from handlers.slack.messages import note
from handlers.slack.modals import SLACK_INPUT_MAX, Submission, modal, text_input

CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,30}$")


def calendar_modal(
    config: CrierConfig, *, today: date, channel_id: str | None = None
) -> dict[str, Any]:
    """The form of `/outage calendar add`; ``channel_id``: where it was typed, where the proposed
    post is shown to the approvers when crier.yml names no comms channel."""
    networks = [n for n in config.enabled_channels if n not in NOT_FOR_CALENDAR]
    blocks: list[Block] = [
        note(
            "An approver (not you) approves the post before it is scheduled. It goes out at "
            "its time, unless an incident is open: then it is held, and the all-clear offers "
            "to post it."
        ),
        text_input(
            Field.CALENDAR_TEXT,
            "Post",
            multiline=True,
            optional=False,
            max_length=min(TEXT_MAX, SLACK_INPUT_MAX),
            placeholder="Tip: reset your password at …",
        ),
        InputBlock(
            block_id=Field.CALENDAR_DATE,
            label="Day",
            element=DatePickerElement(action_id=INPUT_ACTION, initial_date=today.isoformat()),
        ),
        InputBlock(
            block_id=Field.CALENDAR_TIME,
            label=f"Time ({config.organisation.time_zone})",
            element=TimePickerElement(action_id=INPUT_ACTION, initial_time="10:00"),
        ),
        InputBlock(
            block_id=Field.CHANNELS,
            label="Channels",
            element=CheckboxesElement(
                action_id=INPUT_ACTION,
                options=[Option(value=n.value, label=NETWORK_LABELS[n]) for n in networks],
            ),
        ),
    ]
    metadata = {"channel_id": channel_id} if channel_id else None
    return modal(View.CALENDAR, "Schedule a post", "Propose", blocks, metadata)


def _picked(form: Submission, block_id: str, key: str) -> str:
    value = form.raw(block_id).get(key)
    return value if isinstance(value, str) else ""


def calendar_request(
    form: Submission, config: CrierConfig, *, now: datetime
) -> tuple[str, tuple[Network, ...], datetime]:
    day = _picked(form, Field.CALENDAR_DATE, "selected_date")
    clock = _picked(form, Field.CALENDAR_TIME, "selected_time")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        raise InvalidInput("Pick a day.", {Field.CALENDAR_DATE: "Pick a day."})
    if not re.fullmatch(r"\d{2}:\d{2}", clock):
        raise InvalidInput("Pick a time.", {Field.CALENDAR_TIME: "Pick a time."})
    try:
        due = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=config.organisation.zone)
    except ValueError:
        raise InvalidInput(
            "That day does not exist.", {Field.CALENDAR_DATE: "No such day."}
        ) from None
    if due <= now:
        raise InvalidInput("That time has passed.", {Field.CALENDAR_TIME: "Pick a later time."})
    try:
        channels = tuple(Network(c) for c in form.choices(Field.CHANNELS))
    except ValueError:
        raise InvalidInput("Unknown channel.", {Field.CHANNELS: "Unknown channel."}) from None
    return form.text(Field.CALENDAR_TEXT), channels, due


async def _schedule(core: Core, actor: Actor, form: Submission) -> CalendarEntry:
    """The calendar form: a post proposed for approval, at its day and time."""
    text, channels, due = calendar_request(form, core.config, now=core.clock.now())
    return await core.content_calendar.add(
        actor,
        text=text,
        channels=channels,
        due_at=due,
        where=form.channel_id if CHANNEL_ID.match(form.channel_id) else None,
    )


async def _decide(click: Click, *, approve: bool) -> None:
    """*Approve* / *Reject* on a proposed post: the message then shows the decision."""
    calendar = click.core.content_calendar
    entry = await (calendar.approve if approve else calendar.reject)(click.actor, click.number)
    channel, message_ts = click.channel, (click.body.get("container") or {}).get("message_ts")
    if channel and isinstance(message_ts, str):
        shown = calendar_message(entry, zone=click.core.config.organisation.zone)
        await click.client.chat_update(channel=channel, ts=message_ts, **shown)


async def _resume(click: Click, *, publish: bool) -> str:
    """*Post now* / *Skip* on a post the crisis pause held."""
    entry = await click.core.content_calendar.resume(click.actor, click.number, publish=publish)
    return f"Scheduled post #{entry.id} {'is being published' if publish else 'was skipped'}."


async def _propose_form(click: Click) -> dict[str, Any]:
    """*Propose a post*, under `/outage calendar`'s list: the form, as `/outage calendar add`."""
    config = click.core.config
    today = click.core.clock.now().astimezone(config.organisation.zone).date()
    return calendar_modal(config, today=today, channel_id=click.channel or None)


def register_calendar(app: AsyncApp) -> None:
    app.view(View.CALENDAR)(submits(_schedule))
    app.action(Action.CALENDAR_PROPOSE)(opens_form(_propose_form))
    app.action(Action.CALENDAR_APPROVE)(does_once(partial(_decide, approve=True)))
    app.action(Action.CALENDAR_REJECT)(does_once(partial(_decide, approve=False)))
    app.action(indexed(Action.CALENDAR_POST))(does_once(partial(_resume, publish=True)))
    app.action(indexed(Action.CALENDAR_SKIP))(does_once(partial(_resume, publish=False)))
    register_calendar_batch(app)
    register_calendar_list(app)
