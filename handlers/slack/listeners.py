"""Bolt listeners: each parses the request, calls one core use case and renders the answer.

Plain functions; bolt hands each the core and the presenter in its context (``provide``).
Every listener acks first (or, for modal submissions, after a quick validation so errors can
show on the field). What takes longer than an answer — drafting an ``/outage``, an approval and
its publishing — is written as a row before the ack (``bot.scheduling.work``) and done by the work
runner, so nothing acknowledged is lost if Crier stops.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Core
from bot.errors import CrierError
from bot.incidents.requests import parse_quick_declare
from bot.scheduling.work import ReplyTo, approve_later, declare_later
from bot.views import IncidentView
from handlers.slack import deliveries, forms, modals
from handlers.slack.calendar import calendar_modal, register_calendar
from handlers.slack.common import (
    DATABASE_DOWN,
    actor_of,
    core_of,
    failures_told_to,
    open_modal,
    presenter_of,
    provide,
    reply_to,
    submit,
    teller,
    to_int,
    where,
)
from handlers.slack.help import HELP, USAGE, incident_list
from handlers.slack.ids import COMMAND, Action, View
from handlers.slack.presenter import PLATFORM, SlackPresenter
from handlers.slack.text import escape, plain_from_slack, unescape

log = logging.getLogger(__name__)
DRAFTING = "Drafting the posts…"


def _trigger_key(body: dict[str, Any]) -> str | None:
    trigger = body.get("trigger_id")
    if isinstance(trigger, str) and trigger and len(trigger) <= deliveries.TRIGGER_ID_MAX:
        return deliveries.TRIGGER + trigger
    return None


async def outage(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    core = core_of(context)
    config = core.config
    text = unescape(str(command.get("text") or "")).strip()
    verb = text.split(maxsplit=1)[0].lower() if text else ""
    channel = str(command.get("channel_id") or "")

    async def tell(message: str) -> None:
        await respond(text=message, response_type="ephemeral", replace_original=False)

    if verb in {"help", "?", "-h", "--help"}:
        await ack(text=HELP, response_type="ephemeral")
    elif ":" in text:
        await _declare_at_once(ack, command, text, core, client)
    elif verb not in {"", "list", "calendar"}:
        await ack(text=USAGE, response_type="ephemeral")
    else:
        await ack()
        async with failures_told_to(tell):
            if not await deliveries.first_time():
                return
            if verb == "list":
                incidents = await core.open_incidents()
                await tell(incident_list(incidents, zone=config.organisation.zone))
                return
            if verb == "calendar":
                today = core.clock.now().astimezone(config.organisation.zone).date()
                view = calendar_modal(config, today=today, channel_id=channel)
            else:
                view = modals.declare_modal(
                    config, channel_id=channel, summary_hint=core.summary_room.hint
                )
            await open_modal(client, command.get("trigger_id"), view)


async def _declare_at_once(
    ack: AsyncAck, command: dict[str, Any], text: str, core: Core, client: AsyncWebClient
) -> None:
    """``/outage Service: summary``: checked and queued before the ack, drafted after it."""
    actor = actor_of({"id": command.get("user_id"), "name": command.get("user_name")})
    channel = str(command.get("channel_id") or "")
    try:  # before the ack, so a typo or a mention of nobody is answered at once
        text = await plain_from_slack(client, text)
        parse_quick_declare(text, core.config)
        core.pace.note(actor)
    except CrierError as exc:
        await ack(text=escape(exc.message), response_type="ephemeral")
        return
    url = command.get("response_url")
    reply = ReplyTo(
        platform=PLATFORM,
        channel=core.config.slack.comms_channel or channel,
        user=actor.user_id,
        url=url if isinstance(url, str) and url else None,
    )
    now = core.clock.now()
    try:
        await core.store.run(
            lambda s: declare_later(
                s, actor=actor, text=text, reply=reply, key=_trigger_key(command), now=now
            )
        )
    except Exception as exc:
        log.error("could not queue a declaration: %s", exc)
        await ack(text=DATABASE_DOWN, response_type="ephemeral")
        return
    core.work.wake()
    await ack(text=DRAFTING, response_type="ephemeral")


async def approve(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Queued before the ack: an approval Slack was answered for is never lost."""
    core = core_of(context)
    actor, post_id, now = actor_of(body["user"]), to_int(action.get("value")) or 0, core.clock.now()
    reply = reply_to(body)
    try:
        await core.store.run(
            lambda s: approve_later(
                s, actor=actor, post_id=post_id, reply=reply, key=_trigger_key(body), now=now
            )
        )
    except CrierError as exc:  # no such draft
        await ack()
        await teller(presenter_of(context), body)(escape(exc.message))
        return
    except Exception as exc:
        log.error("could not queue an approval: %s", exc)
        await ack()
        await teller(presenter_of(context), body)(DATABASE_DOWN)
        return
    core.work.wake()
    await ack()


async def declared(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    core = core_of(context)
    form = await modals.Submission.read(view, client)
    actor = actor_of(body["user"])
    channel = core.config.slack.comms_channel or str(form.metadata.get("channel_id") or "")

    async def declare() -> Any:
        request = forms.declare_request(form, core.config)
        core.pace.note(actor)
        # The thread is queued in the declaring transaction: never an incident nobody sees.
        return await core.declare(actor, request, thread=reply_to(body, channel=channel))

    await submit(ack, view, declare)


async def _open_incident_form(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    form: Callable[..., dict[str, Any]],
) -> None:
    """*Post update* / *Resolve*: the incident's form, if it is still open."""
    channel, _ = where(body)
    await ack()
    async with failures_told_to(teller(presenter_of(context), body)):
        incident = await core_of(context).open_incident(to_int(action.get("value")) or 0)
        if await deliveries.first_time():
            await open_modal(client, body.get("trigger_id"), form(incident, channel_id=channel))


async def post_update(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await _open_incident_form(ack, body, action, client, context, modals.update_modal)


async def resolve(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    await _open_incident_form(ack, body, action, client, context, modals.resolve_modal)


async def updated(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    core = core_of(context)
    form = await modals.Submission.read(view, client)
    incident_id = form.metadata_int("incident_id") or 0
    await submit(
        ack,
        view,
        lambda: core.draft_update(actor_of(body["user"]), incident_id, forms.update_request(form)),
    )


async def resolved(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    core = core_of(context)
    form = await modals.Submission.read(view, client)
    incident_id = form.metadata_int("incident_id") or 0
    outcome = await submit(
        ack,
        view,
        lambda: core.draft_resolution(
            actor_of(body["user"]), incident_id, forms.resolve_request(form)
        ),
    )
    if isinstance(outcome, IncidentView):
        channel = str(form.metadata.get("channel_id") or "")
        await teller(presenter_of(context), body, channel=channel)(
            f"Incident #{outcome.id} is closed. Nothing about it was ever published, "
            "so there is no all-clear to post."
        )


async def edit(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    channel, _ = where(body)
    await ack()
    async with failures_told_to(teller(presenter_of(context), body)):
        post = await core_of(context).post(to_int(action.get("value")) or 0)
        if post.state != "pending":
            raise CrierError(f"This draft is {post.state}; only a waiting draft can be edited.")
        if await deliveries.first_time():
            view = modals.edit_modal(post, channel_id=channel)
            await open_modal(client, body.get("trigger_id"), view)


async def edited(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    core = core_of(context)
    form = await modals.Submission.read(view, client)
    post_id = form.metadata_int("post_id") or 0
    await submit(
        ack, view, lambda: core.edit(actor_of(body["user"]), post_id, forms.edit_request(form))
    )


async def reject(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    core = core_of(context)
    channel, _ = where(body)
    await ack()
    async with failures_told_to(teller(presenter_of(context), body)):
        post_id = to_int(action.get("value")) or 0
        await core.ensure_approver(actor_of(body["user"]), post_id, action="reject")
        post = await core.post(post_id)
        if await deliveries.first_time():
            view = modals.reject_modal(post, channel_id=channel)
            await open_modal(client, body.get("trigger_id"), view)


async def rejected(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    core = core_of(context)
    form = await modals.Submission.read(view, client)
    post_id = form.metadata_int("post_id") or 0
    await submit(
        ack, view, lambda: core.reject(actor_of(body["user"]), post_id, form.text("reason"))
    )


async def snooze(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    job, _, minutes = str(action.get("value", "")).partition(":")
    tell = teller(presenter_of(context), body)
    async with failures_told_to(tell):
        if await deliveries.first_time():
            await core_of(context).snooze(
                actor_of(body["user"]), to_int(job) or 0, to_int(minutes) or 15
            )
            await tell(f"Snoozed: I'll remind you again in {to_int(minutes) or 15} minutes.")


async def confirm(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    async with failures_told_to(teller(presenter_of(context), body)):
        if await deliveries.first_time():
            delivery_id = to_int(action.get("value")) or 0
            await core_of(context).confirm_delivery(actor_of(body["user"]), delivery_id)


async def retry(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    async with failures_told_to(teller(presenter_of(context), body)):
        if await deliveries.first_time():
            delivery_id = to_int(action.get("value")) or 0
            await core_of(context).retry_delivery(actor_of(body["user"]), delivery_id)


def register(app: AsyncApp, *, core: Core, presenter: SlackPresenter) -> None:
    """Add the listeners; bolt tries them in this order, the busiest first."""
    app.middleware(provide(core, presenter))
    app.command(COMMAND)(outage)
    app.action(Action.APPROVE)(approve)
    app.view(View.DECLARE)(declared)
    app.action(Action.POST_UPDATE)(post_update)
    app.action(Action.RESOLVE)(resolve)
    app.view(View.UPDATE)(updated)
    app.view(View.RESOLVE)(resolved)
    app.action(Action.EDIT)(edit)
    app.view(View.EDIT)(edited)
    app.action(Action.REJECT)(reject)
    app.view(View.REJECT)(rejected)
    app.action(re.compile(f"^{Action.SNOOZE}_\\d+$"))(snooze)
    app.action(re.compile(f"^{Action.CONFIRM}_\\d+$"))(confirm)
    app.action(re.compile(f"^{Action.RETRY}_\\d+$"))(retry)
    register_calendar(app)
