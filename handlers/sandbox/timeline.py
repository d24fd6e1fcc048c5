"""A channel as a person sees it: messages, their threads, and what only they can see."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from handlers.sandbox.blocks import blocks_html
from handlers.sandbox.mrkdwn import Names, escape, to_html
from handlers.sandbox.workspace_state import JsonDict, WorkspaceState

_COLOURS = ["#4a154b", "#1264a3", "#2bac76", "#e01e5a", "#ecb22e", "#36c5f0", "#7c3085"]


def _when(ts: str, zone: ZoneInfo) -> str:
    try:
        at = datetime.fromtimestamp(float(ts), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return ""
    label = at.astimezone(zone).strftime("%-I:%M %p")
    return f'<time class="msg-time" datetime="{at.isoformat()}">{label}</time>'


def avatar(user_id: str, name: str, *, bot: bool = False) -> str:
    """A square with the person's initials (the bot gets a megaphone)."""
    if bot:
        return '<div class="avatar avatar-bot" aria-hidden="true">📣</div>'
    digest = hashlib.sha256(user_id.encode()).digest()
    colour = _COLOURS[digest[0] % len(_COLOURS)]
    initials = "".join(part[:1] for part in name.split()[:2]).upper() or "?"
    return (
        f'<div class="avatar" style="background:{colour}" aria-hidden="true">'
        f"{escape(initials)}</div>"
    )


class TimelineRenderer:
    """Renders one channel for one viewer from the workspace's state."""

    def __init__(self, *, state: WorkspaceState, names: Names, zone: ZoneInfo) -> None:
        self._state = state
        self._names = names
        self._zone = zone

    def _content(self, message: JsonDict) -> str:
        blocks = message.get("blocks")
        if isinstance(blocks, list) and blocks:
            return blocks_html(blocks, self._names)
        return f'<div class="bk-text">{to_html(str(message.get("text", "")), self._names)}</div>'

    def message(self, message: JsonDict, channel: str, *, ephemeral: bool = False) -> str:
        """One message with its author, time and content."""
        user = str(message.get("user", ""))
        is_bot = bool(message.get("bot_id")) or ephemeral
        name = self._names.user(self._state.bot_user_id if ephemeral else user)
        badge = '<span class="app-badge">APP</span>' if is_bot else ""
        note = (
            '<span class="only-you">👁 Only visible to you</span>'
            if ephemeral
            else ('<span class="edited">(edited)</span>' if message.get("edited") else "")
        )
        ts = str(message.get("ts") or message.get("message_ts") or "")
        css = "msg ephemeral" if ephemeral else "msg"
        return (
            f'<div class="{css}" data-channel="{escape(channel)}" data-ts="{escape(ts)}"'
            f"{' data-ephemeral' if ephemeral else ''}>"
            f"{avatar(user, name, bot=is_bot)}"
            f'<div class="msg-body"><div class="msg-meta"><span class="msg-author">'
            f"{escape(name)}</span>{badge}{_when(ts, self._zone)}{note}</div>"
            f'<div class="msg-content">{self._content(message)}</div></div></div>'
        )

    def _thread(self, root: JsonDict, channel: str, ephemerals: list[JsonDict]) -> str:
        ts = str(root["ts"])
        replies = [
            (str(m["ts"]), self.message(m, channel)) for m in self._state.thread(channel, ts)
        ]
        replies += [
            (str(e["message_ts"]), self.message(e, channel, ephemeral=True))
            for e in ephemerals
            if e.get("thread_ts") == ts
        ]
        if not replies:
            return ""
        replies.sort(key=lambda pair: float(pair[0]))
        count = len(replies)
        label = f"{count} {'reply' if count == 1 else 'replies'}"
        return (
            f'<div class="thread" data-thread="{escape(ts)}">'
            f'<button type="button" class="thread-toggle" data-count-label="{label}">'
            f'<span class="thread-arrow">▾</span> {label}</button>'
            f'<div class="replies">{"".join(html for _, html in replies)}</div></div>'
        )

    def channel(self, channel: str, *, viewer: str) -> str:
        """The channel's messages, oldest first, each followed by its thread."""
        ephemerals = self._state.ephemerals(viewer, channel)
        thread_roots = {str(m["ts"]) for m in self._state.messages(channel)}
        rows: list[tuple[float, str]] = []
        for message in self._state.messages(channel):
            html = self.message(message, channel)
            if message.get("subtype") != "thread_broadcast":
                html += self._thread(message, channel, ephemerals)
            rows.append((float(message["ts"]), html))
        for entry in ephemerals:
            if entry.get("thread_ts") in thread_roots:
                continue
            rows.append((float(entry["message_ts"]), self.message(entry, channel, ephemeral=True)))
        rows.sort(key=lambda pair: pair[0])
        if rows:
            return "".join(html for _, html in rows)
        name = escape(self._names.channel(channel))
        return (
            '<div class="channel-empty"><h3>This is the very beginning of '
            f"#{name}</h3><p>Type <code>/outage Blackboard: students cannot log in</code> "
            "below to declare an outage at once, or <code>/outage</code> alone for the form. "
            "Then switch <em>Who am I</em> to an approver to approve the draft in the "
            "incident's thread.</p></div>"
        )
