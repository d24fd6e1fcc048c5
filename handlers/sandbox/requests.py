"""Requests shaped and signed the way Slack sends them to the app's Request URL.

The test suite and ``crier sandbox`` both build them here, so the sandbox's page and the tests
speak to Crier exactly as Slack would.

Slash commands arrive form-encoded; interactions (button clicks, modal submissions) arrive as one
form field, ``payload``, holding JSON. Each is signed with the app's signing secret::

    body = slash_command(
        "/outage", "db down", user_id="U0ALICE", channel_id="C0INCIDENT",
        response_url=slack.new_response_url(channel="C0INCIDENT", user="U0ALICE"),
    )
    status, text = await post_signed(session, app_url, body, secret=SIGNING_SECRET)
"""

from __future__ import annotations

import html
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from handlers.sandbox.workspace_api import view_object
from handlers.sandbox.workspace_state import (
    DEFAULT_APP_ID,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
    JsonDict,
    new_trigger_id,
)

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# Slack still sends the deprecated verification token; bolt ignores it.
VERIFICATION_TOKEN = "legacy-verification-token"  # noqa: S105 - not a secret


def sign(
    body: bytes | str,
    *,
    secret: str,
    timestamp: int | None = None,
    content_type: str = FORM_CONTENT_TYPE,
) -> dict[str, str]:
    """Headers Slack adds: ``X-Slack-Signature`` is ``v0=`` + HMAC-SHA256 of ``v0:{ts}:{body}``
    (slack_sdk's signer, the one bolt checks against)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body) or ""
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


async def post_signed(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes | str,
    *,
    secret: str,
    timestamp: int | None = None,
    extra_headers: Mapping[str, str] | None = None,
    content_type: str = FORM_CONTENT_TYPE,
) -> tuple[int, str]:
    """POST ``body``, signed with ``secret``, to the app; returns (status, response text)."""
    raw = body.encode() if isinstance(body, str) else body
    headers = sign(raw, secret=secret, timestamp=timestamp, content_type=content_type)
    async with session.post(url, data=raw, headers=headers | dict(extra_headers or {})) as response:
        return response.status, await response.text()


def form_fields(body: str) -> dict[str, str]:
    """Decode a form-encoded body (a slash command) into its fields."""
    return {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}


def interaction_payload(body: str) -> JsonDict:
    """Decode an interaction body (``payload=<JSON>``) into the payload dict."""
    payload: JsonDict = json.loads(form_fields(body)["payload"])
    return payload


def slack_escaped(text: str) -> str:
    """What Slack does to typed text before an app sees it: ``&``, ``<`` and ``>`` escaped."""
    return html.escape(text, quote=False)


def _channel_name(channel_id: str) -> str:
    # What Slack puts in channel_name for conversations that have no name of their own.
    return {"D": "directmessage", "G": "privategroup"}.get(channel_id[:1], channel_id.lower())


def slash_command(
    command: str = "/outage",
    text: str = "",
    *,
    user_id: str,
    channel_id: str,
    response_url: str,
    user_name: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    trigger_id: str | None = None,
) -> str:
    """The form-encoded body of a slash command, with every field Slack sends."""
    return urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": DEFAULT_TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": _channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            # Slack escapes &, < and > in what people type, whatever should_escape says.
            "text": slack_escaped(text),
            "api_app_id": DEFAULT_APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or new_trigger_id(),
        }
    )


def _interaction(
    kind: str,
    user_id: str,
    user_name: str | None,
    team_id: str,
    trigger_id: str | None,
    **fields: Any,
) -> str:
    """The body of an interaction, ``payload=<JSON>``: the fields every kind has, then its own."""
    name = user_name or user_id.lower()
    payload = {
        "type": kind,
        "user": {"id": user_id, "username": name, "name": name, "team_id": team_id},
        "api_app_id": DEFAULT_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": DEFAULT_TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        **fields,
    }
    return urlencode({"payload": json.dumps(payload)})


def block_action(
    *,
    action_id: str,
    value: str,
    block_id: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    response_url: str,
    thread_ts: str | None = None,
    message: JsonDict | None = None,
    button_text: str | None = None,
    user_name: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    trigger_id: str | None = None,
) -> str:
    """A ``block_actions`` interaction: a button in a message was clicked.

    Pass ``message`` as the workspace stored it (``slack.messages(channel)[0]``); without it
    a bare bot message with ``message_ts`` stands in.
    """
    in_thread = {"thread_ts": thread_ts} if thread_ts else {}
    container = {"type": "message", "message_ts": message_ts, "channel_id": channel_id}
    if message is None:
        message = {
            "type": "message",
            "user": DEFAULT_BOT_USER_ID,
            "bot_id": DEFAULT_BOT_ID,
            "text": "",
            "ts": message_ts,
            "team": team_id,
            **in_thread,
        }
    action = {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": button_text or value, "emoji": True},
        "value": value,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    return _interaction(
        "block_actions",
        user_id,
        user_name,
        team_id,
        trigger_id,
        container=container | {"is_ephemeral": False, **in_thread},
        channel={"id": channel_id, "name": _channel_name(channel_id)},
        message=message,
        state={"values": {}},
        response_url=response_url,
        actions=[action],
    )


def view_submission(
    *,
    view: JsonDict,
    values: dict[str, dict[str, JsonDict]],
    user_id: str,
    user_name: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    trigger_id: str | None = None,
) -> str:
    """A ``view_submission`` interaction: the user pressed Submit on a modal.

    ``view`` is the view as sent to views.open, or better as the workspace answered it
    (``slack.open_views[view_id]``, which carries the real id and hash). ``values`` is
    ``{block_id: {action_id: value}}``, e.g. ``{"title": {"title_input": text_input("DB")}}``.
    """
    view_id = view.get("id") or "V" + secrets.token_hex(5).upper()
    submitted = view_object(
        view,
        view_id=view_id,
        root=view.get("root_view_id") or view_id,
        previous=view.get("previous_view_id"),
        view_hash=view.get("hash") or f"{int(time.time())}.{secrets.token_hex(4)}",
        team_id=team_id,
    ) | {"state": {"values": values}}
    return _interaction(
        "view_submission", user_id, user_name, team_id, trigger_id, view=submitted, response_urls=[]
    )


def text_input(value: str | None) -> JsonDict:
    """The state of a ``plain_text_input`` (``None`` when left empty)."""
    return {"type": "plain_text_input", "value": value}


def static_select(value: str | None, text: str | None = None) -> JsonDict:
    """The state of a ``static_select`` (``None``: nothing chosen)."""
    label = {"type": "plain_text", "text": text or value, "emoji": True}
    option = None if value is None else {"text": label, "value": value}
    return {"type": "static_select", "selected_option": option}


def multi_users_select(user_ids: list[str]) -> JsonDict:
    return {"type": "multi_users_select", "selected_users": list(user_ids)}
