"""*Edit* and *Cancel maintenance* on a maintenance's message in Slack.

*Edit* opens `/outage maintenance`'s form filled in with the maintenance as it is; its
submission drafts the series again, which the approvers are shown anew (its old message's
*Approve all* then approves nothing). *Cancel maintenance* (confirmed in Slack first) calls it off
at once while nothing is public, else drafts a cancellation for an approver. Who may, and until
when, is the core's to say (``MaintenanceDesk.to_edit``, ``edit``, ``cancel``); a refusal is told
to the person who clicked.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Core
from bot.drafting.post_times import format_time
from bot.errors import InvalidInput
from bot.maintenance.series import MaintenanceShown, ShowReason
from bot.ports import Actor
from handlers.slack.calendar import CHANNEL_ID
from handlers.slack.calendar_message import who
from handlers.slack.common import (
    Click,
    Listener,
    actor_of,
    does_once,
    failures_told_to,
    opens_form,
    reply_to,
    submits,
)
from handlers.slack.ids import Action, MaintenanceField, View
from handlers.slack.maintenance import (
    answered_by,
    maintenance_modal,
    maintenance_request,
    now_said,
    show_answered,
)
from handlers.slack.maintenance_message import maintenance_message
from handlers.slack.modals import Submission
from handlers.slack.presenter import SlackPresenter


async def _edit_form(click: Click) -> dict[str, Any]:
    """The form, filled in; refused before it opens if the edit would be."""
    core = click.core
    current = await core.maintenance.to_edit(click.actor, click.number)
    shown = await core.maintenance.view(click.number)
    today = core.clock.now().astimezone(core.config.organisation.zone).date()
    message_ts = (click.body.get("container") or {}).get("message_ts")
    opened_from = {"message_ts": message_ts, "revision": shown.revision}
    return maintenance_modal(
        core.config,
        today=today,
        channel_id=click.channel,
        editing=(click.number, current),
        opened_from=opened_from,
    )


def _saves_edit() -> Listener:
    """The edit form's submission (``_edit``); once the maintenance is at a newer revision than
    the message the form was opened from showed, that message says so: its *Approve all* would
    be refused, and it no longer shows the series that goes out."""
    save = submits(_edit)

    async def listener(
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        client: AsyncWebClient,
        core: Core,
        presenter: SlackPresenter,
    ) -> None:
        await save(ack=ack, body=body, view=view, client=client, core=core, presenter=presenter)
        form = Submission(view)
        message_ts = form.metadata.get("message_ts")
        if not isinstance(message_ts, str) or not CHANNEL_ID.match(form.channel_id):
            return
        async with failures_told_to(partial(presenter.tell, reply_to(body))):
            now = await core.maintenance.view(form.metadata_int("maintenance_id"))
            if now.revision <= form.metadata_int("revision"):
                return  # not saved (its refusal is on the form)
            zone = core.config.organisation.zone
            at = format_time(core.clock.now(), zone)
            outcome = (
                f"✏️ Edited by {who(actor_of(body['user']).key)} at {at}: its new series waits "
                "for approval in a newer message, and is shown here as it is now."
            )
            shown = MaintenanceShown(now, ShowReason.REVIEW)
            message = maintenance_message(shown, zone=zone, outcome=outcome)
            await client.chat_update(channel=form.channel_id, ts=message_ts, **message)

    return listener


async def _edit(core: Core, actor: Actor, form: Submission) -> str:
    request = maintenance_request(form, core.config, now=core.clock.now())
    where = form.channel_id if CHANNEL_ID.match(form.channel_id) else None
    maintenance_id = form.metadata_int("maintenance_id")
    try:
        edited = await core.maintenance.edit(actor, maintenance_id, request, where=where)
    except InvalidInput as exc:
        if exc.fields:
            raise
        # A post that would not fit, or a placeholder typed: the person's words are the fix.
        raise InvalidInput(exc.message, {MaintenanceField.NOTICE: exc.message}) from None
    return (
        f"Maintenance #{edited.id} is drafted again: an approver (not you) approves its new "
        "posts; nothing of the old series goes out."
    )


async def _cancel(click: Click) -> None:
    desk = click.core.maintenance
    change = await desk.cancel(click.actor, click.number, where=click.channel)
    now = await desk.view(click.number)
    if change is None:
        outcome = f"🚫 Cancelled by {answered_by(click)}: none of its posts will go out."
    else:
        outcome = (
            f"⏳ {who(click.actor.key)} asked at {now_said(click)} to call it off: its "
            "announcement is out, so a short cancellation waits for an approver (not whoever "
            "asked)."
        )
    await show_answered(click, MaintenanceShown(now, ShowReason.REVIEW), outcome)


def register_maintenance_changes(app: AsyncApp) -> None:
    app.action(Action.MAINTENANCE_EDIT)(opens_form(_edit_form))
    app.view(View.MAINTENANCE_EDIT)(_saves_edit())
    app.action(Action.MAINTENANCE_CANCEL)(does_once(_cancel))
