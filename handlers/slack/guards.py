"""Bolt middleware run on every verified request before any listener: is it from Crier's own
workspace, is it shaped the way Slack shapes it, and (for events) is it not a Slack retry of
an event already handled. A refused request writes nothing and leaves a log line.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot import processed_events
from bot.core import Core

log = logging.getLogger(__name__)

# Typed as bolt types it; at run time next() only marks the request as passed on (it returns
# None), and the listeners run after every middleware.
Next = Callable[[], Awaitable[BoltResponse]]
OTHER_WORKSPACE = "This Crier serves another Slack workspace, so it did nothing."
EVENT_ID_MAX = 100  # the ProcessedEvent column; Slack's ids are about 12 characters
# Interactivity payloads name the person who acted; Crier answers them and audits them by it.
_FROM_A_PERSON = {"block_actions", "view_submission", "view_closed"}
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,40}")
_CHANNEL_ID = re.compile(r"[CDG][A-Z0-9]{2,40}")


class SameWorkspace(AsyncMiddleware):
    """Refuse a request whose team is not the bot token's (``auth.test``) team.

    An org-wide install on Enterprise Grid serves every workspace of its organisation, so a
    request from the token's own enterprise passes.
    """

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next
    ) -> BoltResponse | None:
        context = req.context
        result = context.authorize_result
        ours, theirs = (result.team_id if result else None), context.team_id
        enterprise = result.enterprise_id if result else None
        same_org = enterprise is not None and enterprise == context.enterprise_id
        if not ours or not theirs or theirs == ours or same_org:
            await next()
            return resp
        log.warning(
            "refused a Slack request from workspace %s: Crier's token belongs to %s", theirs, ours
        )
        if "command" in req.body:  # a slash command can be answered where it was typed
            return BoltResponse(
                status=200,
                body=json.dumps({"response_type": "ephemeral", "text": OTHER_WORKSPACE}),
                headers={"content-type": ["application/json;charset=utf-8"]},
            )
        return BoltResponse(status=403, body=OTHER_WORKSPACE)


def malformed(body: dict[str, Any]) -> str | None:
    """Why a payload is not one Slack sends (the fields Crier's listeners rely on), or None."""
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        return "type is not a string"
    for key in ("team", "user", "container", "channel", "message", "view", "event"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            return f"{key} is not an object"
    for key in ("response_url", "trigger_id"):
        if key in body and not isinstance(body[key], str):
            return f"{key} is not a string"
    if kind in _FROM_A_PERSON:
        user_id = (body.get("user") or {}).get("id")
        if not isinstance(user_id, str) or not _USER_ID.fullmatch(user_id):
            return "no user"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "no actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "an action without an action_id"
        channel = (body.get("container") or {}).get("channel_id") or (
            body.get("channel") or {}
        ).get("id")
        if not isinstance(channel, str) or not _CHANNEL_ID.fullmatch(channel):
            return "no channel"  # every Crier button is in a channel's message
        if not body.get("trigger_id"):  # Slack always sends one; a form needs it to open
            return "no trigger_id"
    callback_id = (body.get("view") or {}).get("callback_id")
    if kind in ("view_submission", "view_closed") and not isinstance(callback_id, str):
        return "no view callback_id"
    if kind == "event_callback":
        event_id = body.get("event_id")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= EVENT_ID_MAX:
            return "no event_id"
    return None


class WellFormed(AsyncMiddleware):
    """Refuse, with 400, a signed payload missing what Slack always sends.

    A class, not a function: bolt builds a function middleware's arguments (``action``,
    ``view`` …) from the payload first, and that fails on the very payloads refused here.
    """

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next
    ) -> BoltResponse | None:
        problem = malformed(req.body)
        if problem is None:
            await next()
            return resp
        log.warning("refused a malformed Slack %s request: %s", req.body.get("type"), problem)
        return BoltResponse(status=400, body="malformed request")


class OncePerEvent(AsyncMiddleware):
    """Slack retries an event it thinks was not received; bolt does not de-duplicate.

    The event id is recorded in the database before the listeners run (insert-or-ignore, so of
    two replicas receiving a delivery and its retry exactly one goes on), and a retry of a
    recorded event is answered 200 and dropped. An event is acked as soon as its listener has
    handed its work on (``later``), so a retry means Slack missed that ack (a slow moment), never
    that Crier failed it. If the
    database cannot record the id, the request fails and Slack retries later.
    """

    def __init__(self, core: Core) -> None:
        self._core = core

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next
    ) -> BoltResponse | None:
        event_id = req.body.get("event_id")
        if req.body.get("type") == "event_callback" and isinstance(event_id, str):
            now = self._core.clock.now()
            claimed = await self._core.store.run(
                lambda s: processed_events.claim(s, event_id=event_id, at=now)
            )
            if not claimed:
                retry = req.headers.get("x-slack-retry-num", ["-"])[0]
                log.info("dropped Slack event %s (retry %s): already handled", event_id, retry)
                return BoltResponse(status=200, body="")
        await next()
        return resp
