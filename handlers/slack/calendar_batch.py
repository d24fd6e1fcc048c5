"""The buttons of a recurring series' batch in Slack: *Approve* and *Skip* on each post, and
*Approve all*. Each click updates the same message, so everyone sees what is decided and what
still waits; a refusal (not an approver, their own post, already decided) reaches only the
person who clicked (``common.does_once``). Who may decide is the core's to say."""

from __future__ import annotations

from functools import partial

from slack_bolt.async_app import AsyncApp

from bot.scheduling.calendar import CalendarBatch
from handlers.slack.calendar_batch_message import batch_message
from handlers.slack.common import Click, does_once
from handlers.slack.ids import Action
from handlers.slack.presenter import approvers_named


async def _show(click: Click, batch: CalendarBatch) -> None:
    """The batch's message, as it is now, in place of the one clicked (still naming the
    approvers while a post waits: an edit notifies nobody again)."""
    message_ts = (click.body.get("container") or {}).get("message_ts")
    if click.channel and isinstance(message_ts, str):
        config = click.core.config
        approvers = " ".join(approvers_named(config))
        shown = batch_message(batch, zone=config.organisation.zone, mentions=approvers)
        await click.client.chat_update(channel=click.channel, ts=message_ts, **shown)


async def _decide(click: Click, *, approve: bool) -> None:
    """*Approve* or *Skip* on one post of the batch."""
    calendar = click.core.content_calendar
    entry = await (calendar.approve if approve else calendar.skip)(click.actor, click.number)
    if entry.batch is not None:
        await _show(click, await calendar.batch(entry.batch))


async def _approve_all(click: Click) -> None:
    """*Approve all*: every post of the batch still waiting."""
    await _show(click, await click.core.content_calendar.approve_all(click.actor, click.number))


def register_calendar_batch(app: AsyncApp) -> None:
    app.action(Action.BATCH_APPROVE)(does_once(partial(_decide, approve=True)))
    app.action(Action.BATCH_SKIP)(does_once(partial(_decide, approve=False)))
    app.action(Action.BATCH_APPROVE_ALL)(does_once(_approve_all))
