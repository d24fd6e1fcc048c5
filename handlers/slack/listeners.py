"""Bolt listeners: each parses the request, calls one core use case and renders the answer.

Every listener acks first (or, for modal submissions, after a quick validation so errors can
show on the field); the slow work follows the ack.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.backlog import Busy
from bot.core import Core
from bot.errors import CrierError, InvalidInput
from bot.requests import parse_quick_declare
from bot.views import IncidentView
from handlers.slack import forms, modals
from handlers.slack.calendar import calendar_modal, register_calendar
from handlers.slack.common import (
    actor_of,
    discard,
    in_turn,
    later,
    open_modal,
    submit,
    teller,
    to_int,
    where,
)
from handlers.slack.hands import Hands
from handlers.slack.help import HELP, USAGE, incident_list
from handlers.slack.ids import COMMAND, Action, View
from handlers.slack.presenter import SlackPresenter
from handlers.slack.text import escape, plain_from_slack, unescape

log = logging.getLogger(__name__)


def register(app: AsyncApp, *, core: Core, presenter: SlackPresenter, hands: Hands) -> None:
    config = core.config

    def comms_channel(fallback: str) -> str:
        return config.slack.comms_channel or fallback

    @app.command(COMMAND)
    async def outage(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        text = unescape(str(command.get("text") or "")).strip()
        verb = text.split(maxsplit=1)[0].lower() if text else ""
        actor = actor_of({"id": command.get("user_id"), "name": command.get("user_name")})
        channel = str(command.get("channel_id") or "")

        async def tell(message: str) -> None:
            await respond(text=message, response_type="ephemeral", replace_original=False)

        if not text:
            await ack()
            later(
                core,
                open_modal(
                    client,
                    command.get("trigger_id"),
                    modals.declare_modal(
                        config, channel_id=channel, summary_hint=core.summary_room.hint
                    ),
                ),
                tell,
            )
        elif verb in {"help", "?", "-h", "--help"}:
            await ack(text=HELP, response_type="ephemeral")
        elif verb == "list":
            await ack()
            later(core, _list(core, tell), tell)
        elif verb == "calendar":
            await ack()
            today = core.clock.now().astimezone(config.organisation.zone).date()
            later(
                core,
                open_modal(
                    client,
                    command.get("trigger_id"),
                    calendar_modal(config, today=today, channel_id=channel),
                ),
                tell,
            )
        elif ":" in text:
            try:  # before the ack, so a typo or a mention of nobody is answered at once
                text = await plain_from_slack(client, text)
                parse_quick_declare(text, config)
            except InvalidInput as exc:
                await ack(text=escape(exc.message), response_type="ephemeral")
                return
            try:  # a place in the backlog before the ack: when full, say so now
                declaring = in_turn(
                    core.backlog,
                    hands.declare(actor, text, comms_channel(channel)),
                    queue_here=hands.queues_here,
                )
            except Busy as exc:
                await ack(text=exc.message, response_type="ephemeral")
                return
            await ack(text="Drafting the posts…", response_type="ephemeral")
            later(core, declaring, tell)
        else:
            await ack(text=USAGE, response_type="ephemeral")

    @app.action(Action.APPROVE)
    async def approve(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        approving = hands.approve(actor_of(body["user"]), to_int(action.get("value")) or 0)
        # A decision goes ahead of new declarations, and is never turned away.
        later(
            core,
            in_turn(core.backlog, approving, urgent=True, queue_here=hands.queues_here),
            teller(presenter, body),
        )

    @app.view(View.DECLARE)
    async def declared(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        form = await modals.Submission.read(view, client)
        draft = await submit(
            ack,
            view,
            lambda: core.declare(actor_of(body["user"]), forms.declare_request(form, config)),
        )
        if draft is None:
            return
        channel = comms_channel(str(form.metadata.get("channel_id") or ""))
        # Saved before the ack: its thread is never turned away, and with a work process it
        # is handed over at once, so a kill of this process does not leave it without one.
        thread = hands.thread(actor_of(body["user"]), draft, channel)
        later(
            core,
            in_turn(core.backlog, thread, urgent=True, queue_here=hands.queues_here),
            teller(presenter, body, channel=channel),
        )

    @app.action(Action.POST_UPDATE)
    async def post_update(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        channel, _ = where(body)

        async def work() -> None:
            incident = await core.open_incident(to_int(action.get("value")) or 0)
            await open_modal(
                client, body.get("trigger_id"), modals.update_modal(incident, channel_id=channel)
            )

        later(core, work(), teller(presenter, body))

    @app.action(Action.RESOLVE)
    async def resolve(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        channel, _ = where(body)

        async def work() -> None:
            incident = await core.open_incident(to_int(action.get("value")) or 0)
            await open_modal(
                client, body.get("trigger_id"), modals.resolve_modal(incident, channel_id=channel)
            )

        later(core, work(), teller(presenter, body))

    @app.view(View.UPDATE)
    async def updated(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        form = await modals.Submission.read(view, client)
        await submit(
            ack,
            view,
            lambda: core.draft_update(
                actor_of(body["user"]),
                form.metadata_int("incident_id") or 0,
                forms.update_request(form),
            ),
        )

    @app.view(View.RESOLVE)
    async def resolved(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        form = await modals.Submission.read(view, client)
        outcome = await submit(
            ack,
            view,
            lambda: core.draft_resolution(
                actor_of(body["user"]),
                form.metadata_int("incident_id") or 0,
                forms.resolve_request(form),
            ),
        )
        if isinstance(outcome, IncidentView):
            channel = str(form.metadata.get("channel_id") or "")
            core.after_answer(
                discard(
                    teller(presenter, body, channel=channel)(
                        f"Incident #{outcome.id} is closed. Nothing about it was ever published, "
                        "so there is no all-clear to post."
                    )
                )
            )

    @app.action(Action.EDIT)
    async def edit(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        channel, _ = where(body)

        async def work() -> None:
            post = await core.post(to_int(action.get("value")) or 0)
            if post.state != "pending":
                raise CrierError(f"This draft is {post.state}; only a waiting draft can be edited.")
            await open_modal(
                client, body.get("trigger_id"), modals.edit_modal(post, channel_id=channel)
            )

        later(core, work(), teller(presenter, body))

    @app.view(View.EDIT)
    async def edited(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        form = await modals.Submission.read(view, client)
        await submit(
            ack,
            view,
            lambda: core.edit(
                actor_of(body["user"]), form.metadata_int("post_id") or 0, forms.edit_request(form)
            ),
        )

    @app.action(Action.REJECT)
    async def reject(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        channel, _ = where(body)

        async def work() -> None:
            post_id = to_int(action.get("value")) or 0
            await core.ensure_approver(actor_of(body["user"]), post_id, action="reject")
            post = await core.post(post_id)
            await open_modal(
                client, body.get("trigger_id"), modals.reject_modal(post, channel_id=channel)
            )

        later(core, work(), teller(presenter, body))

    @app.view(View.REJECT)
    async def rejected(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        form = await modals.Submission.read(view, client)
        await submit(
            ack,
            view,
            lambda: core.reject(
                actor_of(body["user"]), form.metadata_int("post_id") or 0, form.text("reason")
            ),
        )

    @app.action(re.compile(f"^{Action.SNOOZE}_\\d+$"))
    async def snooze(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        job, _, minutes = str(action.get("value", "")).partition(":")
        tell = teller(presenter, body)

        async def work() -> None:
            await core.snooze(actor_of(body["user"]), to_int(job) or 0, to_int(minutes) or 15)
            await tell(f"Snoozed: I'll remind you again in {to_int(minutes) or 15} minutes.")

        later(core, work(), tell)

    @app.action(re.compile(f"^{Action.CONFIRM}_\\d+$"))
    async def confirm(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        later(
            core,
            discard(
                core.confirm_delivery(actor_of(body["user"]), to_int(action.get("value")) or 0)
            ),
            teller(presenter, body),
        )

    @app.action(re.compile(f"^{Action.RETRY}_\\d+$"))
    async def retry(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        later(
            core,
            discard(core.retry_delivery(actor_of(body["user"]), to_int(action.get("value")) or 0)),
            teller(presenter, body),
        )

    # Bolt tries listeners in the order they were added: the busiest first.
    register_calendar(app, core=core, presenter=presenter)


async def _list(core: Core, tell: Callable[[str], Awaitable[None]]) -> None:
    await tell(incident_list(await core.open_incidents(), zone=core.config.organisation.zone))
