"""Slack text helpers: user text never pings or breaks the layout, and what people type in
Slack becomes plain text before it reaches the core."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.drafting.post_times import format_time
from bot.errors import InvalidInput

log = logging.getLogger(__name__)
SECTION_LIMIT = 3000
# Slack's markup in what people type, or in what Slack made of it: a person (<@U…|name>), a
# channel (<#C…|name>), an announcement or other special (<!here>, <!subteam^S…|@team>) and a
# link (<https://…|label>, <mailto:…>). Anything else between < and > is the person's own text.
MARKUP = re.compile(
    r"<(@[UW][A-Z0-9]+|#[CG][A-Z0-9]+|![a-z]+(?:\^[^<>|]*)?|(?:https?|mailto|tel|ftp):[^<>|\s]*)"
    r"(?:\|([^<>]*))?>"
)
PERSON = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
ANNOUNCEMENTS = frozenset({"here", "channel", "everyone"})
LOOKUP_SECONDS = 1.5  # each users.info; the answer to Slack is due within 3 s
MOST_PEOPLE = 10  # looked up in one text; anyone past them is refused like someone not found


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


def when(at: datetime, zone: ZoneInfo) -> str:
    """A time every reader sees in their own zone (in ``zone`` where Slack cannot say it)."""
    return f"<!date^{int(at.timestamp())}^{{time}}|{escape(format_time(at, zone))}>"


async def plain_from_slack(client: AsyncWebClient, text: str) -> str:
    """What a person typed in Slack, as plain text: see ``plain_text``."""
    return plain_text(text, await people_named(client, people_in([text])))


def people_in(texts: Iterable[str]) -> list[str]:
    """The user ids mentioned (``<@U…>``) in the texts, each once, in order."""
    return list(dict.fromkeys(m.group(1) for text in texts for m in PERSON.finditer(text)))


async def people_named(client: AsyncWebClient, user_ids: Iterable[str]) -> dict[str, str]:
    """Each person's display name by user id (``users.info``); anyone Slack did not name in
    time is left out, and ``plain_text`` refuses their mention."""
    wanted = list(user_ids)[:MOST_PEOPLE]
    names = await asyncio.gather(*(_display_name(client, user_id) for user_id in wanted))
    return {user_id: name for user_id, name in zip(wanted, names, strict=True) if name}


async def _display_name(client: AsyncWebClient, user_id: str) -> str | None:
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            answer = await client.users_info(user=user_id)
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        log.info("could not look up %s: %s", user_id, exc)
        return None
    user: Any = answer.get("user")
    if not isinstance(user, dict):
        return None
    profile: Any = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    for name in (
        profile.get("display_name"),
        profile.get("real_name"),
        user.get("real_name"),
        user.get("name"),
    ):
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


def plain_text(text: str, people: Mapping[str, str], *, field: str | None = None) -> str:
    """Slack's markup as the words it stands for: ``<@U…>`` → the person's display name (from
    ``people``), ``<#C…|general>`` → ``#general``, ``<!here>`` → ``@here``, ``<!subteam^S…|@it>``
    → ``@it``, ``<https://x|label>`` → the URL (a label may disguise where it leads),
    ``<mailto:a@b|a@b>`` → ``a@b``. Markup that names nobody readable is refused
    (``InvalidInput`` on ``field``): nothing goes public as an id."""

    def words(match: re.Match[str]) -> str:
        target, label = match.group(1), (match.group(2) or "").strip()
        kind = target[0]
        if kind == "@" and target[1:] in people:
            return people[target[1:]]
        if kind == "#" and label:
            return f"#{label.removeprefix('#')}"
        if kind == "!":
            word = target[1:].partition("^")[0]
            if word in ANNOUNCEMENTS:
                return f"@{word}"
            if label:
                return label
        if kind not in "@#!":
            return target.removeprefix("mailto:")
        message = f"I could not look up <{target}>; write the name instead."
        raise InvalidInput(message, {field: message} if field else None)

    for _ in range(5):  # markup inside a label (<@U1|<!here>>) is read from the inside out
        text, found = MARKUP.subn(words, text)
        if not found:
            break
    return text
