"""Plays Slack's client and servers for the page: what a person does becomes the signed request
Slack would send to the app's Request URL, and the app's answer is applied as Slack applies it.

    frontend = SlackFrontend(workspace=ws, app_url=url, secret=secret, http=session, ...)
    outcome = await frontend.command("U0ANALYST1", "C0SANDBOX", "/outage bb: cannot log in")
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import aiohttp

from handlers.sandbox import requests as slack_requests
from handlers.sandbox.blocks import find_button, input_blocks, input_state, is_empty
from handlers.sandbox.mrkdwn import text_of
from handlers.sandbox.requests import slack_escaped
from handlers.sandbox.workspace import SlackWorkspace
from handlers.sandbox.workspace_api import apply_response, build_view, views_update
from handlers.sandbox.workspace_state import JsonDict, SlackError

log = logging.getLogger(__name__)

ACK_SECONDS = 3.0  # Slack gives up on the app after 3 seconds
REQUIRED = "Please complete this required field."
TROUBLE = "We had some trouble connecting. Try again?"


@dataclass(frozen=True)
class SlashCommand:
    """A command from the app's manifest."""

    command: str
    description: str = ""
    usage_hint: str = ""


@dataclass
class Outcome:
    """What the person sees besides the workspace's changes: a notice, or a form's errors."""

    notice: str | None = None
    errors: dict[str, str] | None = None
    closed: bool = False


@dataclass
class SlackFrontend:
    """Turns page gestures into Slack's requests, one person at a time."""

    workspace: SlackWorkspace
    app_url: str
    secret: str
    http: aiohttp.ClientSession
    commands: dict[str, SlashCommand]
    # The people's time zone (the sandbox gives everyone the organisation's): Slack reads a
    # datetimepicker's day and time in it.
    zone: ZoneInfo
    _trigger_owners: dict[str, str] = field(default_factory=dict)

    # ----- who sees which modal ---------------------------------------------------------------

    def _trigger_for(self, user: str) -> str:
        trigger_id = self.workspace.issue_trigger_id()
        self._trigger_owners[trigger_id] = user
        return trigger_id

    def view_owner(self, view_id: str) -> str | None:
        """Who the modal was opened for: the person whose gesture's trigger_id opened it."""
        for call in self.workspace.calls:
            opened = call.method in ("views.open", "views.push") and call.ok
            if opened and call.response.get("view", {}).get("id") == view_id:
                return self._trigger_owners.get(str(call.args.get("trigger_id", "")))
        return None

    def modal_for(self, user: str) -> JsonDict | None:
        """The top open modal of ``user``, if any."""
        top = self.workspace.top_view()
        return top if top is not None and self.view_owner(str(top["id"])) in (user, None) else None

    # ----- gestures ---------------------------------------------------------------------------

    async def _post(self, body: str) -> tuple[int, str]:
        try:
            return await asyncio.wait_for(
                slack_requests.post_signed(self.http, self.app_url, body, secret=self.secret),
                ACK_SECONDS,
            )
        except TimeoutError:
            return 0, "operation_timeout"
        except aiohttp.ClientError as exc:
            log.warning("the app did not answer: %s", exc)
            return 0, "dispatch_failed"

    async def command(
        self, user: str, channel: str, typed: str, *, thread_ts: str | None = None
    ) -> Outcome:
        """A message typed in the message box: a slash command, or words for the channel."""
        if not typed.startswith("/"):
            if typed.strip():
                self.workspace.post_as_user(
                    channel, user=user, text=slack_escaped(typed), thread_ts=thread_ts
                )
            return Outcome()
        name, _, text = typed.partition(" ")
        known = self.commands.get(name.lower())
        if known is None:
            return Outcome(
                notice=f"{name} is not a valid command. In Slack, all messages that start with "
                'the "/" character are interpreted as commands.'
            )
        if thread_ts:
            return Outcome(notice=f"{known.command} is not supported in threads. Sorry!")
        body = slack_requests.slash_command(
            known.command,
            text.strip(),  # the builder escapes it as Slack does
            user_id=user,
            user_name=self.workspace.user_name(user),
            channel_id=channel,
            response_url=self.workspace.new_response_url(channel=channel, user=user),
            trigger_id=self._trigger_for(user),
        )
        status, answer = await self._post(body)
        if status != 200:
            error = answer if status == 0 else "dispatch_failed"
            return Outcome(notice=f'{known.command} failed with the error "{error}"')
        self._apply_ack(answer, channel=channel, user=user)
        return Outcome()

    def _apply_ack(self, answer: str, *, channel: str, user: str) -> None:
        """A command's HTTP answer, shown as Slack shows it (ephemeral unless in_channel)."""
        if not answer.strip():
            return
        try:
            body = json.loads(answer)
        except ValueError:
            body = {"text": answer}
        if isinstance(body, dict) and any(body.get(k) for k in ("text", "blocks")):
            apply_response(self.workspace, body, channel=channel, user=user, message_ts=None)

    async def click(
        self, user: str, channel: str, ts: str, *, block_id: str, action_id: str
    ) -> Outcome:
        """A button in a message was clicked (its confirm dialog, if any, already accepted)."""
        stored = self.workspace.find_message(channel, ts)
        element = find_button(stored, block_id, action_id) if stored else None
        if stored is None or element is None:
            return Outcome(notice="That message has changed; the button is no longer there.")
        message = copy.deepcopy(stored)
        body = slack_requests.block_action(
            action_id=action_id,
            value=str(element.get("value", "")),
            block_id=block_id,
            user_id=user,
            user_name=self.workspace.user_name(user),
            channel_id=channel,
            message_ts=ts,
            thread_ts=message.get("thread_ts"),
            message=message,
            button_text=text_of(element.get("text")),
            response_url=self.workspace.new_response_url(channel=channel, user=user, message_ts=ts),
            trigger_id=self._trigger_for(user),
        )
        status, _ = await self._post(body)
        if status != 200:
            return Outcome(notice="⚠️ Crier did not answer that click in time (Slack shows ⚠️).")
        return Outcome()

    async def submit(self, user: str, view_id: str, entered: JsonDict) -> Outcome:
        """Submit ``user``'s modal with what they entered (``{block_id: value or [values]}``)."""
        view = self.workspace.open_views.get(view_id)
        if view is None or self.view_owner(view_id) not in (user, None):
            return Outcome(notice="That form is no longer open.", closed=True)
        values: dict[str, dict[str, JsonDict]] = {}
        missing: dict[str, str] = {}
        for block in input_blocks(view):
            element = block["element"]
            state = input_state(element, entered.get(str(block["block_id"])), self.zone)
            values[str(block["block_id"])] = {str(element.get("action_id", "")): state}
            if not block.get("optional") and is_empty(state):
                missing[str(block["block_id"])] = REQUIRED
        if missing:  # Slack checks required fields itself; the app never hears of it
            return Outcome(errors=missing)
        body = slack_requests.view_submission(
            view=view, values=values, user_id=user, user_name=self.workspace.user_name(user)
        )
        status, answer = await self._post(body)
        if status != 200:
            return Outcome(notice=TROUBLE)
        return self._apply_view_answer(view, answer)

    def _apply_view_answer(self, view: JsonDict, answer: str) -> Outcome:
        try:
            response = json.loads(answer) if answer.strip() else {}
        except ValueError:
            response = {}
        action = response.get("response_action") if isinstance(response, dict) else None
        state = self.workspace
        if action not in ("errors", "update", "push"):
            closing = view["root_view_id"] if action == "clear" else view["id"]
            state.close_view(str(closing))
            return Outcome(closed=True)
        if action == "errors":
            errors = {str(k): str(v) for k, v in (response.get("errors") or {}).items()}
            inputs = {str(b["block_id"]) for b in input_blocks(view)}
            strays = sorted(set(errors) - inputs)
            if strays:  # Slack refuses the whole answer then, and the person sees only this
                log.warning("errors for blocks not in the view: %s", strays)
                return Outcome(notice=f"{TROUBLE} (errors named blocks not in the view: {strays})")
            return Outcome(errors=errors)
        try:
            if action == "update":
                views_update(state, {"view_id": view["id"], "view": response.get("view")})
            else:
                pushed = build_view(
                    state,
                    response.get("view"),
                    view_id=state.new_view_id(),
                    root=view["root_view_id"],
                    previous=view["id"],
                )
                state.store_view(pushed, push=True)
        except SlackError as refusal:
            return Outcome(notice=f"{TROUBLE} ({refusal.error})")
        return Outcome()

    def close(self, user: str, view_id: str) -> Outcome:
        """Cancel, or the close button: the modal closes (Crier asks for no view_closed events)."""
        if self.view_owner(view_id) in (user, None):
            self.workspace.close_view(view_id)
        return Outcome(closed=True)
