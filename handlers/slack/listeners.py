"""Bolt listeners: each parses the request, calls one core use case and renders the answer.

Plain functions, or made by ``common``'s ``opens_form``, ``does_once`` and ``submits`` for the
buttons and forms that go the same way; bolt hands each the core and the presenter it names,
from its context (``provide``).
Every listener acks first (or, for modal submissions, after a quick validation so errors can
show on the field). What takes longer than an answer — drafting an ``/outage``, an approval and
its publishing — is written as a row before the ack (``bot.scheduling.work``) and done by the work
runner, so nothing acknowledged is lost if Crier stops.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Core
from bot.errors import CrierError
from bot.incidents import forms
from bot.incidents.labels import CLOSED_QUIETLY
from bot.incidents.requests import parse_quick_declare
from bot.ports import Actor
from bot.scheduling.work import ReplyTo, approve_later, declare_later
from bot.subscriptions import following
from bot.subscriptions.following import FollowAnswer, FollowVerb
from bot.views import IncidentView
from handlers.slack import deliveries, modals
from handlers.slack.answers import register_answers
from handlers.slack.calendar import calendar_modal, register_calendar
from handlers.slack.calendar_list import show_list
from handlers.slack.common import (
    DATABASE_DOWN,
    Click,
    actor_of,
    does_once,
    failures_told_to,
    opens_form,
    provide,
    refuse,
    submits,
    where,
)
from handlers.slack.deliveries import trigger_key
from handlers.slack.help import HELP, USAGE, incident_list
from handlers.slack.ids import COMMAND, Action, View, indexed
from handlers.slack.maintenance import maintenance_modal, register_maintenance
from handlers.slack.maintenance_changes import register_maintenance_changes
from handlers.slack.presenter import PLATFORM, SlackPresenter
from handlers.slack.text import escape, plain_from_slack, unescape

log = logging.getLogger(__name__)
DRAFTING = "Drafting the posts…"
# `/outage calendar add` (or one of these words) opens the form; `/outage calendar`, the list.
PROPOSE_WORDS = frozenset({"add", "new", "propose"})


async def outage(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    core: Core,
) -> None:
    config = core.config
    text = unescape(str(command.get("text") or "")).strip()
    verb = text.split(maxsplit=1)[0].lower() if text else ""
    channel = str(command.get("channel_id") or "")
    tell = partial(respond, response_type="ephemeral", replace_original=False)
    if verb in {"help", "?", "-h", "--help"}:
        await ack(text=HELP, response_type="ephemeral")
    elif verb in set(FollowVerb):
        await ack()
        async with failures_told_to(tell):
            if await deliveries.first_time():
                answer = await _follow(core, command, text)
                await tell(escape(answer.message))
    elif ":" in text:
        await _declare_at_once(ack, command, text, core, client)
    elif verb not in {"", "list", "calendar", "maintenance"}:
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
            if verb == "calendar" and not set(text.lower().split()[1:2]) & PROPOSE_WORDS:
                await tell(**await show_list(core))
                return
            today = core.clock.now().astimezone(config.organisation.zone).date()
            if verb == "calendar":
                view = calendar_modal(config, today=today, channel_id=channel)
            elif verb == "maintenance":
                view = maintenance_modal(config, today=today, channel_id=channel)
            else:
                view = modals.declare_modal(
                    config, channel_id=channel, summary_hint=core.summary_room.hint
                )
            await client.views_open(trigger_id=str(command.get("trigger_id") or ""), view=view)


async def _follow(core: Core, command: dict[str, Any], text: str) -> FollowAnswer:
    """``/outage follow Blackboard, Wi-Fi`` | ``unfollow`` | ``following``, for the channel
    the command was typed in: Slack posts there by its id, so no reference is kept."""
    verb, *rest = text.split(maxsplit=1)
    actor = actor_of({"id": command.get("user_id"), "name": command.get("user_name")})
    channel = f"{PLATFORM}:{command.get('channel_id') or ''}"
    match verb.lower():
        case FollowVerb.FOLLOW:
            words = following.service_words("".join(rest))
            return await following.follow(core, actor, channel, words)
        case FollowVerb.UNFOLLOW:
            return await following.unfollow(core, actor, channel)
        case _:
            return await following.following(core, channel)


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
                s, actor=actor, text=text, reply=reply, key=trigger_key(command), now=now
            )
        )
    except Exception as exc:
        log.error("could not queue a declaration: %s", exc)
        await ack(text=DATABASE_DOWN, response_type="ephemeral")
        return
    core.work.wake()
    await ack(text=DRAFTING, response_type="ephemeral")


async def _approve_form(click: Click) -> dict[str, Any]:
    """*Approve & publish*: whoever may not publish this draft is refused at once; only who
    may is asked to confirm (the channels it goes out to)."""
    post = await click.core.ensure_may_approve(click.actor, click.number)
    thread = where(click.body)[1]
    return modals.approve_modal(post, channel_id=click.channel, thread_ts=thread)


async def approved(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], core: Core) -> None:
    """*Publish* in the confirmation: queued before the ack (once, by the submission's trigger
    id), so an approval Slack was answered for is never lost."""
    form, actor, now = modals.Submission(view), actor_of(body["user"]), core.clock.now()
    post_id, thread = form.metadata_int("post_id"), form.metadata.get("thread_ts")
    reply = ReplyTo(
        platform=PLATFORM,
        channel=form.channel_id,
        user=actor.user_id,
        thread=thread if isinstance(thread, str) and thread else None,
    )
    try:
        await core.store.run(
            lambda s: approve_later(
                s, actor=actor, post_id=post_id, reply=reply, key=trigger_key(body), now=now
            )
        )
    except Exception as exc:  # no such draft, or the database
        await refuse(ack, view, exc, "could not queue approval")
        return
    core.work.wake()
    await ack()


async def _declare(core: Core, actor: Actor, form: modals.Submission) -> Any:
    request = forms.declare_request(form, core.config)
    core.pace.note(actor)
    # The thread is queued in the declaring transaction: never an incident nobody sees.
    channel = core.config.slack.comms_channel or form.channel_id
    return await core.declare(actor, request, thread=ReplyTo(PLATFORM, channel, actor.user_id))


async def _spike_declare_form(click: Click) -> dict[str, Any]:
    """*Declare outage* on a surge of mentions: the declare form with its service chosen; the
    outage is declared only when someone submits it."""
    core = click.core
    return modals.declare_modal(
        core.config,
        channel_id=click.channel,
        summary_hint=core.summary_room.hint,
        service=click.value.strip() or None,
    )


async def _update_form(click: Click) -> dict[str, Any]:
    incident = await click.core.open_incident(click.number)
    return modals.update_modal(incident, click.core.config, channel_id=click.channel)


async def _resolve_form(click: Click) -> dict[str, Any]:
    incident = await click.core.open_incident(click.number)
    return modals.resolve_modal(incident, channel_id=click.channel)


async def _edit_form(click: Click, *, revise: bool) -> dict[str, Any]:
    """*Edit* on a waiting draft, or *Revise* on a rejected one: the form with its texts."""
    post = await (click.core.revisable if revise else click.core.post)(click.number)
    if not revise and post.state != "pending":
        raise CrierError(f"This draft is {post.state}; only a waiting draft can be edited.")
    return modals.edit_modal(post, channel_id=click.channel, revise=revise)


async def _reject_form(click: Click) -> dict[str, Any]:
    await click.core.ensure_approver(click.actor, click.number, action="reject")
    return modals.reject_modal(await click.core.post(click.number), channel_id=click.channel)


async def _update(core: Core, actor: Actor, form: modals.Submission) -> Any:
    incident_id = form.metadata_int("incident_id")
    return await core.draft_update(actor, incident_id, forms.update_request(form, core.config))


async def _resolve(core: Core, actor: Actor, form: modals.Submission) -> Any:
    incident_id = form.metadata_int("incident_id")
    outcome = await core.draft_resolution(actor, incident_id, forms.resolve_request(form))
    return CLOSED_QUIETLY.format(id=outcome.id) if isinstance(outcome, IncidentView) else outcome


async def _edit(core: Core, actor: Actor, form: modals.Submission, *, revise: bool) -> Any:
    save = core.revise if revise else core.edit
    return await save(actor, form.metadata_int("post_id"), forms.edit_request(form))


async def _reject(core: Core, actor: Actor, form: modals.Submission) -> Any:
    return await core.reject(actor, form.metadata_int("post_id"), form.text("reason"))


async def _snooze(click: Click) -> str:
    wait = await click.core.snooze(click.actor, click.value)
    return f"Snoozed: I'll remind you again in {wait} minutes."


async def mentioned(event: dict[str, Any], client: AsyncWebClient) -> None:
    """Someone mentioned @Crier: the help, in the thread they wrote in (bolt has acked)."""
    channel, thread = event.get("channel"), event.get("thread_ts") or event.get("ts")
    if not isinstance(channel, str) or not isinstance(thread, str):
        log.warning("an app_mention without its channel or ts; nothing to answer")
        return
    try:
        await client.chat_postMessage(channel=channel, thread_ts=thread, text=HELP)
    except SlackApiError as exc:
        log.warning("could not answer a mention in %s: %s", channel, exc.response.get("error"))


async def _retry(click: Click, *, confirm: bool) -> None:
    """*Retry* a delivery, or *It's up* (``confirm``) on one whose outcome was unknown."""
    act = click.core.confirm_delivery if confirm else click.core.retry_delivery
    await act(click.actor, click.number)


def register(app: AsyncApp, *, core: Core, presenter: SlackPresenter) -> None:
    """Add the listeners; bolt tries them in this order, the busiest first."""
    app.middleware(provide(core, presenter))
    app.command(COMMAND)(outage)
    app.action(Action.APPROVE)(opens_form(_approve_form))
    app.view(View.APPROVE)(approved)
    app.view(View.DECLARE)(submits(_declare))
    app.action(Action.SPIKE_DECLARE)(opens_form(_spike_declare_form))
    app.action(Action.POST_UPDATE)(opens_form(_update_form))
    app.action(Action.RESOLVE)(opens_form(_resolve_form))
    app.view(View.UPDATE)(submits(_update))
    app.view(View.RESOLVE)(submits(_resolve))
    app.action(Action.EDIT)(opens_form(partial(_edit_form, revise=False)))
    app.view(View.EDIT)(submits(partial(_edit, revise=False)))
    app.action(Action.REJECT)(opens_form(_reject_form))
    app.view(View.REJECT)(submits(_reject))
    app.action(Action.REVISE)(opens_form(partial(_edit_form, revise=True)))
    app.view(View.REVISE)(submits(partial(_edit, revise=True)))
    app.action(indexed(Action.SNOOZE))(does_once(_snooze))
    app.action(indexed(Action.CONFIRM))(does_once(partial(_retry, confirm=True)))
    app.action(indexed(Action.RETRY))(does_once(partial(_retry, confirm=False)))
    register_calendar(app)
    register_maintenance(app)
    register_maintenance_changes(app)
    register_answers(app)
    app.event("app_mention")(mentioned)
