"""Slack text helpers: user text never pings or breaks the layout."""

from __future__ import annotations

from datetime import datetime

SECTION_LIMIT = 3000


def escape(text: str) -> str:
    """Escape Slack's control characters so ``<!channel>`` or ``<@U123>`` stays plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What a person typed: Slack sends ``&``, ``<`` and ``>`` escaped in command text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain(text: str, *, limit: int = SECTION_LIMIT) -> str:
    """Truncate for a Block Kit text field, saying how much was cut."""
    if len(text) <= limit:
        return text
    note = f"… ({len(text) - limit + 40} more characters)"
    return text[: limit - len(note)] + note


def mention(actor_key: str | None) -> str:
    """``slack:U123`` → ``<@U123>``; someone from another platform by name, escaped."""
    if not actor_key:
        return "someone"
    platform, _, user_id = actor_key.partition(":")
    if platform == "slack" and user_id.isalnum():
        return f"<@{user_id}>"
    return escape(user_id or actor_key)


def when(at: datetime, fallback: str) -> str:
    """A time every reader sees in their own zone."""
    return f"<!date^{int(at.timestamp())}^{{time}}|{escape(fallback)}>"
