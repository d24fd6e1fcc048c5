"""The Web API methods a simulated workspace answers, shaped the way Slack shapes them.

Each method takes the `WorkspaceState` and the request's arguments (query, form or JSON body
merged by `read_args`, ``blocks``/``view`` already decoded) and returns the answer's fields after
``"ok": true``, or raises `SlackError`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from handlers.sandbox.workspace_state import JsonDict, SlackError, WorkspaceState, truthy

MESSAGE_BLOCK_LIMIT = 50
MODAL_BLOCK_LIMIT = 100
MESSAGE_TEXT_LIMIT = 40_000
MODAL_TITLE_LIMIT = 24
PRIVATE_METADATA_LIMIT = 3000
JSON_ENCODED_FIELDS = ("blocks", "view", "attachments", "metadata")


def _text(args: JsonDict) -> str | None:
    value = args.get("text")
    return None if value is None else str(value)


def message_blocks(state: WorkspaceState, args: JsonDict) -> list[Any] | None:
    """The ``blocks`` argument checked as Slack checks it, block_ids filled in; None if absent."""
    blocks = args.get("blocks")
    if blocks is None:
        return None
    if not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks):
        raise SlackError("invalid_blocks_format")
    if len(blocks) > MESSAGE_BLOCK_LIMIT:
        raise SlackError(
            "invalid_blocks",
            f"[ERROR] no more than {MESSAGE_BLOCK_LIMIT} items allowed [json-pointer:/blocks]",
        )
    return state.with_block_ids(blocks)


def _content(
    state: WorkspaceState, args: JsonDict, *, update: bool = False
) -> tuple[str | None, list[Any] | None]:
    """A message's text and blocks, refused as Slack refuses them: an update may leave either
    out, a new message needs one (or attachments)."""
    text, blocks = _text(args), message_blocks(state, args)
    empty = (text is None and blocks is None) if update else (not text and not blocks)
    if empty and not args.get("attachments"):
        raise SlackError("no_text")
    if text and len(text) > MESSAGE_TEXT_LIMIT:
        raise SlackError("msg_too_long")
    return text, blocks


def _view_problems(view: JsonDict) -> list[str]:
    problems: list[str] = []
    if view.get("type") not in ("modal", "home"):
        problems.append("[ERROR] must be one of: modal, home [json-pointer:/view/type]")
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list):
        problems.append("[ERROR] must be an array [json-pointer:/view/blocks]")
    elif len(blocks) > MODAL_BLOCK_LIMIT:
        problems.append(
            f"[ERROR] no more than {MODAL_BLOCK_LIMIT} items allowed [json-pointer:/view/blocks]"
        )
    title = view.get("title")
    if view.get("type") == "modal" and not isinstance(title, dict):
        problems.append("[ERROR] missing required field: title [json-pointer:/view]")
    title_text = title.get("text", "") if isinstance(title, dict) else ""
    for pointer, value, limit in (
        ("title/text", title_text, MODAL_TITLE_LIMIT),
        ("private_metadata", view.get("private_metadata", ""), PRIVATE_METADATA_LIMIT),
    ):
        if len(str(value)) > limit:
            problems.append(
                f"[ERROR] must be less than {limit + 1} characters [json-pointer:/view/{pointer}]"
            )
    return problems


def build_view(
    state: WorkspaceState, view: Any, *, view_id: str, root: str, previous: str | None
) -> JsonDict:
    """Check a ``view`` argument and return the view object Slack stores and echoes back."""
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments", "[ERROR] missing required field: view")
    problems = _view_problems(view)
    if problems:
        raise SlackError("invalid_arguments", *problems)
    return view_object(
        {**view, "blocks": state.with_block_ids(view.get("blocks", []))},
        view_id=view_id,
        root=root,
        previous=previous,
        view_hash=f"{int(time.time())}.{state.short_id(8)}",
    )


def view_object(
    view: JsonDict,
    *,
    view_id: str,
    root: str,
    previous: str | None,
    view_hash: str,
    team_id: str = WorkspaceState.team_id,
) -> JsonDict:
    """The view object Slack stores and echoes back, and sends with a ``view_submission``."""
    return {
        "id": view_id,
        "team_id": team_id,
        "type": view.get("type", "modal"),
        "blocks": view.get("blocks", []),
        "private_metadata": str(view.get("private_metadata", "")),
        "callback_id": str(view.get("callback_id", "")),
        "state": {"values": {}},
        "hash": view_hash,
        "title": view.get("title"),
        "clear_on_close": truthy(view.get("clear_on_close", False)),
        "notify_on_close": truthy(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": previous,
        "root_view_id": root,
        "app_id": WorkspaceState.app_id,
        "external_id": str(view.get("external_id", "")),
        "app_installed_team_id": team_id,
        "bot_id": WorkspaceState.bot_id,
    }


def auth_test(state: WorkspaceState, args: JsonDict) -> JsonDict:
    """Who the token belongs to; bolt reads bot_id, user_id and team_id from this."""
    return {
        "url": f"https://{state.team_domain}.slack.com/",
        "team": state.team_domain,
        "user": state.bot_name,
        "team_id": state.team_id,
        "user_id": state.bot_user_id,
        "bot_id": state.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(state: WorkspaceState, args: JsonDict) -> JsonDict:
    """Post as the bot; ``thread_ts`` makes it a reply, ``reply_broadcast`` shows it in channel."""
    channel = state.resolve_channel(args.get("channel"))
    text, blocks = _content(state, args)
    message = state.post(
        channel,
        user=state.bot_user_id,
        text=text or "",
        blocks=blocks,
        thread_ts=str(args["thread_ts"]) if args.get("thread_ts") else None,
        broadcast=truthy(args.get("reply_broadcast")),
    )
    if isinstance(args.get("metadata"), dict):
        message["metadata"] = args["metadata"]
    return {"channel": channel, "ts": message["ts"], "message": dict(message)}


def chat_update(state: WorkspaceState, args: JsonDict) -> JsonDict:
    """Edit one of the bot's messages; omitted blocks are kept, ``[]`` removes them."""
    channel = state.resolve_channel(args.get("channel"))
    message = state.find_message(channel, str(args.get("ts", "")))
    if message is None:
        raise SlackError("message_not_found")
    if message.get("bot_id") != state.bot_id:
        raise SlackError("cant_update_message")
    text, blocks = _content(state, args, update=True)
    state.edit(message, text=text, blocks=blocks)
    return {"channel": channel, "ts": message["ts"], "text": message["text"], "message": message}


def chat_post_ephemeral(state: WorkspaceState, args: JsonDict) -> JsonDict:
    """Show a message to one user; Slack answers only with its ``message_ts``."""
    channel = state.resolve_channel(args.get("channel"))
    user = str(args.get("user") or "")
    if not state.knows_user(user):
        raise SlackError("user_not_in_channel")
    text, blocks = _content(state, args)
    ts = state.add_ephemeral(
        channel, user=user, text=text or "", blocks=blocks, thread_ts=args.get("thread_ts")
    )
    return {"message_ts": ts}


def views_open(state: WorkspaceState, args: JsonDict, *, push: bool = False) -> JsonDict:
    """Open a modal, or with ``push`` put a view on the open one (at most 3 deep); either needs
    a fresh, unused ``trigger_id``."""
    top = state.top_view() if push else None
    view_id = state.new_view_id()
    view = build_view(
        state,
        args.get("view"),
        view_id=view_id,
        root=top["root_view_id"] if top else view_id,
        previous=top["id"] if top else None,
    )
    state.use_trigger(args)  # after the checks: a refused view leaves the trigger unspent
    state.store_view(view, push=push)
    return {"view": view}


def views_update(state: WorkspaceState, args: JsonDict) -> JsonDict:
    """Replace an open view, found by ``view_id`` or ``external_id``; ``hash`` guards races."""
    view_id, external_id = args.get("view_id"), args.get("external_id")
    if not view_id and not external_id:
        raise SlackError("invalid_arguments", "[ERROR] either view_id or external_id is required")
    current = (
        state.views.get(view_id)
        if view_id
        else next((v for v in state.views.values() if v["external_id"] == external_id), None)
    )
    if current is None:
        raise SlackError("not_found")
    if args.get("hash") and args["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    view = build_view(
        state,
        args.get("view"),
        view_id=current["id"],
        root=current["root_view_id"],
        previous=current["previous_view_id"],
    )
    view["external_id"] = view["external_id"] or current["external_id"]
    state.views[view["id"]] = view
    return {"view": view}


def usergroups_users_list(state: WorkspaceState, args: JsonDict) -> JsonDict:
    members = state.usergroups.get(str(args.get("usergroup", "")))
    if members is None:
        raise SlackError("no_such_subteam")
    return {"users": list(members)}


def users_info(state: WorkspaceState, args: JsonDict) -> JsonDict:
    user = str(args.get("user") or "")
    if not state.knows_user(user):
        raise SlackError("user_not_found")
    name = state.user_name(user)
    return {
        "user": {
            "id": user,
            "team_id": state.team_id,
            "name": name,
            "deleted": False,
            "real_name": name,
            "tz": "UTC",
            "is_bot": user == state.bot_user_id,
            "is_app_user": False,
            "profile": {"real_name": name, "display_name": name, "team": state.team_id},
        }
    }


def conversations_info(state: WorkspaceState, args: JsonDict) -> JsonDict:
    channel_id = state.resolve_channel(args.get("channel"))
    is_im = channel_id.startswith("D")
    channel = {
        "id": channel_id,
        "name": None if is_im else state.channels.get(channel_id, channel_id.lower()),
        "is_channel": not is_im,
        "is_group": False,
        "is_im": is_im,
        "is_private": channel_id.startswith("G") or is_im,
        "is_archived": False,
        "is_general": False,
        "is_member": True,
        "context_team_id": state.team_id,
        "created": 1_700_000_000,
    }
    return {"channel": channel | ({"user": "U" + channel_id[1:]} if is_im else {})}


API_METHODS: dict[str, Callable[[WorkspaceState, JsonDict], JsonDict]] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "views.open": views_open,
    "views.push": functools.partial(views_open, push=True),
    "views.update": views_update,
    "usergroups.users.list": usergroups_users_list,
    "users.info": users_info,
    "conversations.info": conversations_info,
}


def apply_response(
    state: WorkspaceState,
    body: JsonDict,
    *,
    channel: str | None,
    user: str | None,
    message_ts: str | None,
) -> None:
    """Do what Slack does with a POST to a response_url issued in ``channel``.

    ``delete_original`` / ``replace_original`` act on the message ``message_ts``,
    ``response_type: in_channel`` posts as the bot, anything else is an ephemeral to ``user``.
    """
    if channel is None:
        return
    channel = state.resolve_channel(channel)
    text, blocks = _text(body), message_blocks(state, body)
    original = state.find_message(channel, message_ts) if message_ts else None
    thread_ts = str(body["thread_ts"]) if body.get("thread_ts") else None
    if truthy(body.get("delete_original")):
        if original is not None:
            state.delete(channel, original["ts"])
    elif truthy(body.get("replace_original")) and original is not None:
        state.edit(original, text=text, blocks=blocks)
    elif body.get("response_type") == "in_channel":
        state.post(
            channel, user=state.bot_user_id, text=text or "", blocks=blocks, thread_ts=thread_ts
        )
    elif user:
        state.add_ephemeral(channel, user=user, text=text or "", blocks=blocks, thread_ts=thread_ts)


async def read_args(request: web.Request) -> JsonDict:
    """Query string and body merged; form fields holding JSON (``blocks``, ``view``) decoded."""
    args: JsonDict = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            try:
                body: Any = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for name in JSON_ENCODED_FIELDS:
        if isinstance(args.get(name), str):
            # Left a string if it is not JSON: the method then answers invalid_blocks_format.
            with contextlib.suppress(ValueError):
                args[name] = json.loads(args[name])
    return args
