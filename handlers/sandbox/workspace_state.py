"""In-memory state of a simulated Slack workspace and the Web API methods that act on it.

No HTTP here (that is `workspace.py`): each method takes the request's arguments and returns
the fields of Slack's answer, or raises `SlackError`, which Slack sends as
``{"ok": false, "error": ...}`` with HTTP 200.
"""

from __future__ import annotations

import copy
import itertools
import re
import secrets
import string
import time
from typing import Any

from bot.ports import Clock, SystemClock

JsonDict = dict[str, Any]

# The team and app of every simulated workspace; the requests of requests.py come from them too.
DEFAULT_TEAM_ID = "T0CRIER01"
DEFAULT_TEAM_DOMAIN = "crier-sandbox"
DEFAULT_APP_ID = "A0CRIERAPP"
DEFAULT_BOT_USER_ID = "U0CRIERBOT"
DEFAULT_BOT_ID = "B0CRIERBOT"

VIEW_STACK_LIMIT = 3
TRIGGER_TTL_SECONDS = 3.0

_CONVERSATION_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_trigger_seq = itertools.count(1)


class SlackError(Exception):
    """A Web API refusal: ``SlackError("channel_not_found")``, optionally with detail lines."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)

    def body(self) -> JsonDict:
        """The JSON body Slack answers with."""
        body: JsonDict = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def new_trigger_id() -> str:
    """A fresh id shaped like Slack's, e.g. ``"1700000000001.8675309.9f0c…"`` (32 hex digits)."""
    return f"{int(time.time() * 1000)}{next(_trigger_seq):03d}.8675309.{secrets.token_hex(16)}"


def truthy(value: Any) -> bool:
    """Slack's reading of a flag that arrives as JSON ``true`` or form ``"true"``/``"1"``."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


class WorkspaceState:
    """Channels, users, messages, ephemerals and open modals of one simulated workspace.

    With ``users`` or ``channels`` left as None the workspace is lenient: any well-formed id
    (``U…``/``W…``, ``C…``/``G…``/``D…``) is accepted and remembered. Given a dict, it is strict
    and answers ``user_not_found`` / ``channel_not_found`` for anything else, as Slack does.
    Messages are stamped with ``clock``'s time (the sandbox's jumps ahead show in them too).
    """

    team_id, team_domain, app_id = DEFAULT_TEAM_ID, DEFAULT_TEAM_DOMAIN, DEFAULT_APP_ID
    bot_user_id, bot_id, bot_name = DEFAULT_BOT_USER_ID, DEFAULT_BOT_ID, "crier"

    def __init__(
        self,
        *,
        users: dict[str, str] | None,
        usergroups: dict[str, list[str]] | None,
        channels: dict[str, str] | None,
        clock: Clock | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._strict_users, self._users = users is not None, dict(users or {})
        self._strict_channels, self.channels = channels is not None, dict(channels or {})
        self.usergroups = {group: list(members) for group, members in (usergroups or {}).items()}
        self._ids = itertools.count(1)
        self.clear()

    def clear(self) -> None:
        """Forget every message, ephemeral, modal and trigger id (users and channels stay)."""
        self._messages: dict[str, list[JsonDict]] = {}
        self._ephemerals: list[JsonDict] = []
        self.views: dict[str, JsonDict] = {}  # open modals, by view id
        self._view_stack: list[str] = []
        self._issued_triggers: dict[str, float] = {}
        self._used_triggers: set[str] = set()
        self._last_ts_us = 0

    # ----- ids, lookups ---------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message ts such as ``"1700000000.000100"``, strictly increasing."""
        now_us = int(self._clock.now().timestamp() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def short_id(self, length: int = 5, alphabet: str = _BASE62) -> str:
        """A distinct, random-looking id such as a block_id Slack fills in (``"XTkTR"``)."""
        # A prime coprime to the base spreads the counter over the id space without repeats.
        size = len(alphabet)
        n = next(self._ids) * 104_729 % size**length
        return "".join(alphabet[n // size**i % size] for i in range(length))

    def issue_trigger_id(self) -> str:
        """A trigger id that expires like Slack's (3 s); any other id is only single-use."""
        trigger_id = new_trigger_id()
        self._issued_triggers[trigger_id] = time.monotonic()
        return trigger_id

    def knows_user(self, user_id: str) -> bool:
        """Whether ``user_id`` belongs here (when lenient: any well-formed user id)."""
        if user_id == self.bot_user_id or user_id in self._users:
            return True
        return not self._strict_users and bool(_USER_ID.match(user_id))

    def user_name(self, user_id: str) -> str:
        """The user's handle (``bot_name`` for the bot)."""
        if user_id == self.bot_user_id:
            return self.bot_name
        return self._users.get(user_id, user_id.lower())

    def channel_id(self, ref: str) -> str | None:
        """The id of a known conversation given its id, ``#name``, name or a user id (their DM)."""
        if ref in self.channels:
            return ref
        name = ref.removeprefix("#")
        for channel_id, channel_name in self.channels.items():
            if channel_name == name:
                return channel_id
        if _USER_ID.match(ref) and self.knows_user(ref):
            return "D" + ref[1:]
        return None

    def resolve_channel(self, ref: Any) -> str:
        """Like `channel_id`, but remembers new ids when lenient and raises channel_not_found."""
        ref = str(ref or "").strip()
        found = self.channel_id(ref) if ref else None
        if found is None and ref and not self._strict_channels and _CONVERSATION_ID.match(ref):
            self.channels[ref] = ref.lower()
            found = ref
        if found is None:
            raise SlackError("channel_not_found")
        return found

    def find_message(self, channel: str, ts: str) -> JsonDict | None:
        """The stored message (live object) with this ts, top-level or reply."""
        return next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)

    # ----- queries --------------------------------------------------------------------------

    def messages(self, channel: str) -> list[JsonDict]:
        """Top-level messages (and broadcast replies) of a channel, oldest first."""
        channel_id = self.channel_id(channel) or channel
        return [
            copy.deepcopy(m)
            for m in self._messages.get(channel_id, [])
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]

    def thread(self, channel: str, ts: str) -> list[JsonDict]:
        """The replies under the message ``ts``, oldest first (without the parent)."""
        channel_id = self.channel_id(channel) or channel
        return [
            copy.deepcopy(m)
            for m in self._messages.get(channel_id, [])
            if m.get("thread_ts") == ts and m["ts"] != ts
        ]

    def ephemerals(self, user: str | None = None, channel: str | None = None) -> list[JsonDict]:
        """Ephemeral messages, optionally only those shown to ``user`` or in ``channel``."""
        channel_id = None if channel is None else (self.channel_id(channel) or channel)
        return [
            copy.deepcopy(e)
            for e in self._ephemerals
            if (user is None or e["user"] == user) and (channel_id in (None, e["channel"]))
        ]

    # ----- mutations shared by the Web API, response_urls and the sandbox -------------------

    def post(
        self,
        channel: str,
        *,
        user: str,
        text: str,
        blocks: list[Any] | None = None,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> JsonDict:
        """Store a message from ``user`` (the bot, or a person typing in the sandbox)."""
        channel_id = self.resolve_channel(channel)
        message: JsonDict = {
            "type": "message",
            "text": text,
            "user": user,
            "ts": self.next_ts(),
            "team": self.team_id,
        }
        if user == self.bot_user_id:
            profile = {"id": self.bot_id, "app_id": self.app_id, "name": self.bot_name}
            message.update(
                bot_id=self.bot_id,
                app_id=self.app_id,
                bot_profile=profile | {"deleted": False, "team_id": self.team_id},
            )
        if blocks is not None:
            message["blocks"] = blocks
        if thread_ts:
            message["thread_ts"] = thread_ts
            if broadcast:
                message["subtype"] = "thread_broadcast"
            parent = self.find_message(channel_id, thread_ts)
            if parent is not None:
                message["parent_user_id"] = parent["user"]
                repliers = parent.setdefault("reply_users", [])
                if user not in repliers:
                    repliers.append(user)
                parent.update(
                    thread_ts=parent["ts"],
                    reply_count=parent.get("reply_count", 0) + 1,
                    reply_users_count=len(repliers),
                    latest_reply=message["ts"],
                )
        self._messages.setdefault(channel_id, []).append(message)
        return message

    def edit(self, message: JsonDict, *, text: str | None, blocks: list[Any] | None) -> None:
        """Apply an update (blocks omitted: kept; an empty list: removed, as Slack does)."""
        if text is not None:
            message["text"] = text
        if blocks:
            message["blocks"] = blocks
        elif blocks is not None:
            message.pop("blocks", None)
        message["edited"] = {"user": self.bot_id, "ts": self.next_ts()}

    def delete(self, channel: str, ts: str) -> None:
        self._messages[channel] = [m for m in self._messages.get(channel, []) if m["ts"] != ts]

    def add_ephemeral(
        self, channel: str, *, user: str, text: str, blocks: list[Any] | None, thread_ts: Any
    ) -> str:
        """Store an ephemeral message shown to ``user``; returns its message_ts."""
        entry: JsonDict = {
            "channel": channel,
            "user": user,
            "text": text,
            "message_ts": self.next_ts(),
        }
        if blocks is not None:
            entry["blocks"] = blocks
        if thread_ts:
            entry["thread_ts"] = str(thread_ts)
        self._ephemerals.append(entry)
        return str(entry["message_ts"])

    def close_view(self, view_id: str) -> None:
        """Close a modal view and every view pushed above it (what a submit or cancel does)."""
        stack = self._view_stack
        above = stack.index(view_id) if view_id in stack else len(stack)
        for closed in [view_id, *stack[above:]]:
            self.views.pop(closed, None)
        del stack[above:]

    def with_block_ids(self, blocks: list[Any]) -> list[Any]:
        """A copy of ``blocks`` where each block lacking a block_id gets one, as Slack does."""
        filled = copy.deepcopy(blocks)
        for block in filled:
            if isinstance(block, dict) and not block.get("block_id"):
                block["block_id"] = self.short_id()
        return filled

    # ----- modals ---------------------------------------------------------------------------

    def use_trigger(self, args: JsonDict) -> None:
        """Spend a trigger id: required, single use, and (if issued here) only 3 s old."""
        trigger_id = args.get("trigger_id")
        if not trigger_id:
            raise SlackError("invalid_arguments", "[ERROR] missing required field: trigger_id")
        if trigger_id in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        issued = self._issued_triggers.get(trigger_id)
        if issued is not None and time.monotonic() - issued > TRIGGER_TTL_SECONDS:
            raise SlackError("expired_trigger_id")
        self._used_triggers.add(trigger_id)

    def new_view_id(self) -> str:
        """An unused id like ``"V0A1B2C3D4E"``."""
        return "V" + self.short_id(10, _BASE62[:36])

    def store_view(self, view: JsonDict, *, push: bool) -> None:
        """Keep a newly opened or pushed view (opening starts a new stack)."""
        external_id = view["external_id"]
        if external_id and any(v["external_id"] == external_id for v in self.views.values()):
            raise SlackError("duplicate_external_id")
        if push and len(self._view_stack) >= VIEW_STACK_LIMIT:
            raise SlackError("push_limit_reached")
        if not push:
            for old in self._view_stack:
                self.views.pop(old, None)
            self._view_stack = []
        self._view_stack.append(view["id"])
        self.views[view["id"]] = view

    def top_view(self) -> JsonDict | None:
        return self.views.get(self._view_stack[-1]) if self._view_stack else None
