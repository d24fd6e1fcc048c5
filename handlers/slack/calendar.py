"""The content calendar in Slack: `/outage calendar` (a form) and the resume buttons."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
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

from bot.calendar import NOT_FOR_CALENDAR, TEXT_MAX
from bot.config import CrierConfig, Network
from bot.core import Core
from bot.errors import InvalidInput
from bot.views import NETWORK_LABELS
from handlers.slack.common import actor_of, later, submit, teller, to_int
from handlers.slack.ids import INPUT_ACTION, Action, Field, View
from handlers.slack.modals import Submission
from handlers.slack.presenter import SlackPresenter

SLACK_TEXT_MAX = 3000


def calendar_modal(config: CrierConfig, *, today: date) -> dict[str, Any]:
    networks = [n for n in config.enabled_channels if n not in NOT_FOR_CALENDAR]
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Scheduled posts go out at their time, unless an incident is open: "
                    "then they are held, and the all-clear offers to post them."
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
        submit="Schedule",
        close="Cancel",
        blocks=blocks,
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


def register_calendar(app: AsyncApp, *, core: Core, presenter: SlackPresenter) -> None:
    @app.view(View.CALENDAR)
    async def scheduled(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        form = Submission(view)

        async def add() -> Any:
            text, channels, due = calendar_request(form, core.config, now=core.clock.now())
            return await core.content_calendar.add(
                actor_of(body["user"]), text=text, channels=channels, due_at=due
            )

        await submit(ack, view, add)

    async def resume(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], *, publish: bool
    ) -> None:
        await ack()
        tell = teller(presenter, body)

        async def work() -> None:
            entry = await core.content_calendar.resume(
                actor_of(body["user"]), to_int(action.get("value")) or 0, publish=publish
            )
            await tell(
                f"Scheduled post #{entry.id} "
                + ("is being published." if publish else "was skipped.")
            )

        later(core, work(), tell)

    @app.action(re.compile(f"^{Action.CALENDAR_POST}_\\d+$"))
    async def post_now(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await resume(ack, body, action, publish=True)

    @app.action(re.compile(f"^{Action.CALENDAR_SKIP}_\\d+$"))
    async def skip(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await resume(ack, body, action, publish=False)
