"""The content calendar in Slack: `/outage calendar` (a form that proposes a post), *Approve* and
*Reject* on a proposed post, and *Post now* / *Skip* on a post the crisis pause held.

Who may decide is the core's to say (``ContentCalendar``): these listeners parse, call, render."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    TimePickerElement,
)
from slack_sdk.models.views import View as SlackView
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import CrierConfig, Network
from bot.errors import InvalidInput
from bot.scheduling.calendar import NOT_FOR_CALENDAR, TEXT_MAX, CalendarEntry
from bot.views import NETWORK_LABELS
from handlers.slack import deliveries
from handlers.slack.calendar_message import calendar_message
from handlers.slack.common import (
    actor_of,
    core_of,
    failures_told_to,
    presenter_of,
    submit,
    teller,
    to_int,
    where,
)
from handlers.slack.ids import INPUT_ACTION, Action, Field, View
from handlers.slack.modals import Submission

SLACK_TEXT_MAX = 3000
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,30}$")


def calendar_modal(
    config: CrierConfig, *, today: date, channel_id: str | None = None
) -> dict[str, Any]:
    """The form of `/outage calendar`; ``channel_id``: where it was typed, where the proposed
    post is shown to the approvers when crier.yml names no comms channel."""
    networks = [n for n in config.enabled_channels if n not in NOT_FOR_CALENDAR]
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="An approver (not you) approves the post before it is scheduled. "
                    "It goes out at its time, unless an incident is open: then it is held, "
                    "and the all-clear offers to post it."
                )
            ]
        ),
        InputBlock(
            block_id=Field.CALENDAR_TEXT,
            label="Post",
            element=PlainTextInputElement(
                action_id=INPUT_ACTION,
                multiline=True,
                max_length=min(TEXT_MAX, SLACK_TEXT_MAX),
                placeholder="Tip: reset your password at …",
            ),
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
    view = SlackView(
        type="modal",
        callback_id=View.CALENDAR,
        title="Schedule a post",
        submit="Propose",
        close="Cancel",
        blocks=blocks,
        private_metadata=json.dumps({"channel_id": channel_id}) if channel_id else None,
    )
    return view.to_dict()


def _picked(form: Submission, block_id: str, key: str) -> str:
    value = form.raw(block_id).get(key)
    return value if isinstance(value, str) else ""


def calendar_request(
    form: Submission, config: CrierConfig, *, now: datetime
) -> tuple[str, tuple[Network, ...], datetime]:
    day, clock = (
        _picked(form, Field.CALENDAR_DATE, "selected_date"),
        _picked(form, Field.CALENDAR_TIME, "selected_time"),
    )
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        raise InvalidInput("Pick a day.", {Field.CALENDAR_DATE: "Pick a day."})
    if not re.fullmatch(r"\d{2}:\d{2}", clock):
        raise InvalidInput("Pick a time.", {Field.CALENDAR_TIME: "Pick a time."})
    try:
        due = datetime.combine(
            date.fromisoformat(day), time.fromisoformat(clock), tzinfo=config.organisation.zone
        )
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


async def scheduled(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    """The calendar form: a post proposed for approval, at its day and time."""
    core = core_of(context)
    form = await Submission.read(view, client)

    async def add() -> Any:
        text, channels, due = calendar_request(form, core.config, now=core.clock.now())
        typed_in = form.metadata.get("channel_id")
        return await core.content_calendar.add(
            actor_of(body["user"]),
            text=text,
            channels=channels,
            due_at=due,
            where=typed_in if isinstance(typed_in, str) and CHANNEL_ID.match(typed_in) else None,
        )

    await submit(ack, view, add)


async def _decide(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    *,
    approve: bool,
) -> None:
    """*Approve* / *Reject* on a proposed post: the message then shows the decision."""
    await ack()
    core = core_of(context)
    channel, _ = where(body)
    message_ts = (body.get("container") or {}).get("message_ts")
    async with failures_told_to(teller(presenter_of(context), body)):
        if not await deliveries.first_time():
            return
        calendar, actor = core.content_calendar, actor_of(body["user"])
        entry_id = to_int(action.get("value")) or 0
        entry: CalendarEntry = await (
            calendar.approve(actor, entry_id) if approve else calendar.reject(actor, entry_id)
        )
        if channel and isinstance(message_ts, str):
            shown = calendar_message(entry, zone=core.config.organisation.zone)
            await client.chat_update(channel=channel, ts=message_ts, **shown)


async def approve(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await _decide(ack, body, action, client, context, approve=True)


async def reject(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await _decide(ack, body, action, client, context, approve=False)


async def _resume(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    context: AsyncBoltContext,
    *,
    publish: bool,
) -> None:
    """*Post now* / *Skip* on a post the crisis pause held."""
    await ack()
    tell = teller(presenter_of(context), body)
    async with failures_told_to(tell):
        if not await deliveries.first_time():
            return
        entry = await core_of(context).content_calendar.resume(
            actor_of(body["user"]), to_int(action.get("value")) or 0, publish=publish
        )
        outcome = "is being published." if publish else "was skipped."
        await tell(f"Scheduled post #{entry.id} {outcome}")


async def post_now(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await _resume(ack, body, action, context, publish=True)


async def skip(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await _resume(ack, body, action, context, publish=False)


def register_calendar(app: AsyncApp) -> None:
    app.view(View.CALENDAR)(scheduled)
    app.action(Action.CALENDAR_APPROVE)(approve)
    app.action(Action.CALENDAR_REJECT)(reject)
    app.action(re.compile(f"^{Action.CALENDAR_POST}_\\d+$"))(post_now)
    app.action(re.compile(f"^{Action.CALENDAR_SKIP}_\\d+$"))(skip)
