"""What guards ``POST /slack/events``.

Before bolt (``unverifiable``, ``bolt_request``): each Slack header at most once and shaped as
Slack sends it, so the replay guard and bolt's verifier read one and the same value, and bolt
never parses a timestamp or compares a signature that would make it fail with a 500.

Bolt middleware, on every verified request before any listener: is it shaped the way Slack
shapes it (``WellFormed``, before bolt's own authorization, which trips over some misshapen
payloads), is it from Crier's own workspace, and is it not a second delivery of a request
already handled (``OncePerDelivery``). A refused request writes nothing and leaves a log line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiMapping
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.core import Core
from bot.storage import processed_events
from handlers.slack import deliveries
from handlers.slack.common import where

log = logging.getLogger(__name__)

SIGNATURE = "X-Slack-Signature"
TIMESTAMP = "X-Slack-Request-Timestamp"
# Headers Slack sends at most once and Crier (or bolt) reads: a repeated one is refused, as
# aiohttp's ``get`` reads its first value and bolt's own aiohttp adapter its last.
_ONCE = (SIGNATURE, TIMESTAMP, "X-Slack-Retry-Num", "X-Slack-Retry-Reason")
# Whole seconds, ASCII digits only: int() would also take " 1", "1_0" and other scripts' digits.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")  # what bolt computes: anything else cannot match
_BOLT_ONLY = "x-slack-bolt-"  # headers bolt sets for itself (lazy listeners); never Slack's


def unverifiable(headers: MultiMapping[str]) -> str | None:
    """Why no signature check could pass on these headers (repeated, or not Slack's shape), or
    None. Headers that are missing are left to bolt (it answers ``ssl_check`` before it
    verifies, and refuses the rest)."""
    for name in _ONCE:
        if len(headers.getall(name, [])) > 1:
            return f"{name} repeated"
    timestamp, signature = headers.get(TIMESTAMP), headers.get(SIGNATURE)
    if timestamp is not None and not _TIMESTAMP.fullmatch(timestamp):
        return f"{TIMESTAMP} is not a number of seconds"
    if signature is not None and not _SIGNATURE.fullmatch(signature):
        return f"{SIGNATURE} is not v0= and 64 hex digits"
    return None


def bolt_request(raw: bytes, request: web.BaseRequest) -> AsyncBoltRequest:
    """Bolt's request, from the body as UTF-8 (what Slack signs, whatever charset the
    Content-Type names) and every header's values in order: bolt reads each header's first
    value, as the replay guard does. (Bolt's aiohttp adapter would keep the last.)

    Raises ValueError (not UTF-8, not JSON) or whatever else bolt's parsing of junk raises."""
    headers: dict[str, str | Sequence[str]] = {
        name.lower(): request.headers.getall(name)
        for name in request.headers
        if not name.lower().startswith(_BOLT_ONLY)
    }
    text = raw.decode()
    bolt = AsyncBoltRequest(body=text, query=request.query_string, headers=headers)
    if not bolt.body and "payload" in text and not text.startswith("{"):
        # Bolt takes a form holding the word "payload" anywhere for an interaction's and, with
        # no ``payload`` field, reads nothing: "/outage API: payload errors" went unanswered.
        fields = dict(parse_qsl(text, keep_blank_values=True))
        if bolt.content_type != "application/json" and "payload" not in fields:
            bolt.body = fields
            bolt.context = build_async_context(AsyncBoltContext({}), fields)
    return bolt


def _no_forgery_line(record: logging.LogRecord) -> bool:
    """On bolt's request-verification logger: drop its line about a bad signature, which holds
    the request's whole body (up to the size limit, for every forged request). Crier logs a
    short, rate-limited line of its own instead (``SlackSide.handle``)."""
    return not str(record.msg).startswith("Invalid request signature detected")


def quiet_bolt_forgeries() -> None:
    """Install ``_no_forgery_line`` on the logger bolt's ``RequestVerification`` uses (its name
    is ``slack_bolt.`` + the class name; once, however often this is called: ``addFilter`` adds
    a filter the logger has not got)."""
    logging.getLogger("slack_bolt.RequestVerification").addFilter(_no_forgery_line)


# Typed as bolt types it; at run time next() only marks the request as passed on (it returns
# None), and the listeners run after every middleware.
Next = Callable[[], Awaitable[BoltResponse]]
OTHER_WORKSPACE = "This Crier serves another Slack workspace, so it did nothing."
EVENT_ID_MAX = processed_events.KEY_MAX  # Slack's ids are about 12 characters
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
            body = {"response_type": "ephemeral", "text": OTHER_WORKSPACE}
            return BoltResponse(status=200, body=body)  # JSON, as bolt's dict body is
        return BoltResponse(status=403, body=OTHER_WORKSPACE)


def malformed(body: dict[str, Any]) -> str | None:
    """Why a payload is not one Slack sends (the fields Crier's listeners rely on), or None."""
    kind = body.get("type")
    if kind is not None and not isinstance(kind, str):
        return "type is not a string"
    for key in ("team", "user", "container", "channel", "message"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            return f"{key} is not an object"
    # Bolt reads these as objects whenever they are there (a null included): its authorization,
    # the kwargs it builds for Steps from Apps, its warning about an unhandled request.
    for key in ("view", "event"):
        if key in body and not isinstance(body[key], dict):
            return f"{key} is not an object"
    if kind == "event_callback" and not isinstance(body.get("event", {}).get("type"), str):
        return "an event without a type"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view", {})
        if not isinstance(view.get("type"), str):
            return "a view without a type"
        if not isinstance(view.get("callback_id"), str):
            return "no view callback_id"
    if kind == "workflow_step_edit" and not isinstance(body.get("workflow_step"), dict):
        return "workflow_step is not an object"
    for key in ("command", "response_url", "trigger_id"):
        if key in body and not isinstance(body[key], str):
            return f"{key} is not a string"
    for key in ("team_id", "enterprise_id", "api_app_id", "user_id", "channel_id"):
        if body.get(key) is not None and not isinstance(body[key], str):
            return f"{key} is not a string"
    if len(body.get("trigger_id") or "") > deliveries.TRIGGER_ID_MAX:
        return "trigger_id too long"
    # A slash command: Crier acts as, and answers, the person who typed it.
    if "command" in body and not _is(_USER_ID, body.get("user_id")):
        return "no user_id: a command must name the person who typed it"
    # Slack always sends one; Crier marks the delivery by it, and a form needs it to open.
    if ("command" in body or kind == "block_actions") and not body.get("trigger_id"):
        return "no trigger_id"
    if kind == "url_verification" and not isinstance(body.get("challenge"), str):
        return "challenge is not a string"
    if kind in _FROM_A_PERSON and not _is(_USER_ID, (body.get("user") or {}).get("id")):
        return "no user"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "no actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "an action without an action_id"
        if not _is(_CHANNEL_ID, where(body)[0]):
            return "no channel"  # every Crier button is in a channel's message
    if kind == "event_callback":
        event_id = body.get("event_id")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= EVENT_ID_MAX:
            return "no event_id"
    return None


def _is(shape: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and shape.fullmatch(value) is not None


class WellFormed(AsyncMiddleware):
    """Refuse, with 400, a signed payload missing what Slack always sends.

    A class, not a function: bolt builds a function middleware's arguments (``action``,
    ``view`` …) from the payload first, and that fails on the very payloads refused here.
    Given to bolt as ``before_authorize``: right after bolt verifies the signature, before its
    authorization reads ``event`` as an object.
    """

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next
    ) -> BoltResponse | None:
        problem = malformed(req.body)
        if problem is None:
            await next()
            return resp
        kind = req.body.get("type") or ("command" if "command" in req.body else None)
        log.warning("refused a malformed Slack %.40s request: %s", kind, problem)
        return BoltResponse(status=400, body=f"malformed request: {problem}")


class OncePerDelivery(AsyncMiddleware):
    """Handle each event, command and interaction once, however often it arrives.

    Slack retries an event it thinks was not received; bolt does not de-duplicate. The event
    id is recorded in the database before the listeners run (insert-or-ignore, so of two
    replicas receiving a delivery and its retry exactly one goes on), and a retry of a
    recorded event is answered 200 and dropped. An event is acked as soon as its listener has
    handed its work on (``later``), so a retry means Slack missed that ack (a slow moment),
    never that Crier failed it. If the database cannot record the id, the request fails and
    Slack retries later.

    A command or an interaction is marked by its ``trigger_id`` for its listener's work, which
    claims it when it runs (``deliveries``): a second delivery is answered as the first was,
    and its work does nothing.
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
                log.info("dropped Slack event %s (retry %.3s): already handled", event_id, retry)
                return BoltResponse(status=200, body="")
        key = deliveries.trigger_key(req.body)  # malformed() refused a longer trigger id
        deliveries.CURRENT.set(deliveries.Delivery(key, self._core) if key else None)
        await next()
        return resp
