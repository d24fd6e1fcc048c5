"""One incoming Teams activity, read once: who acted, what they typed or clicked, and where."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from botbuilder.core import MessageFactory, TurnContext
from botbuilder.schema import Activity

from bot.incidents.requests import forbidden
from bot.ports import Actor
from handlers.teams.ids import PLATFORM, Data
from handlers.teams.presenter import conversation_reference
from handlers.teams.submissions import Submission

LEADING_MENTION = re.compile(r"^\s*(?:<(?:p|div|span)\b[^<>]*>\s*)*<at>[^<]*</at>\s*", re.I)
# A tag or a comment of the HTML Teams puts in a message's text (``<at>``, ``<p>``, ``<span …>``,
# ``<emoji alt="…">``); ``a < b``, ``<3`` and ``<https://…>`` are not tags.
TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9]*)((?:\s[^<>]*)?)/?>", re.DOTALL)
ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
BLOCKS = frozenset(
    {"address", "article", "blockquote", "br", "dd", "div", "dl", "dt", "h1", "h2", "h3", "h4"}
    | {"h5", "h6", "hr", "li", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"}
)


def _tag(match: re.Match[str]) -> str:
    name = (match.group(2) or "").lower()
    if name in {"img", "emoji"} and not match.group(1):
        alt = ALT.search(match.group(3) or "")
        return html.unescape(alt.group(1) or alt.group(2) or "") if alt else ""
    return " " if name in BLOCKS else ""


def plain_text(text: str) -> str:
    """What a person wrote, from the HTML Teams sends as a message's text: mentions
    (``<at>Alex</at>``) become the plain name, other tags go (an emoji keeps its ``alt``), and
    entities (``&amp;``, ``&lt;``) become the characters people typed."""
    return html.unescape(TAG.sub(_tag, text))


def command_text(activity: Activity) -> str:
    """The message's text without the bot's @mention (Teams puts ``<at>Crier</at>`` in it),
    as plain text on one line."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient else None
    for entity in activity.entities or []:
        props: dict[str, Any] = getattr(entity, "additional_properties", None) or {}
        mentioned, said = props.get("mentioned"), props.get("text")
        if not isinstance(mentioned, dict) or not isinstance(said, str) or not said:
            continue  # not a mention as Teams writes one
        if entity.type == "mention" and mentioned.get("id") == bot_id:
            text = text.replace(said, " ")
    text = plain_text(LEADING_MENTION.sub("", text))
    return " ".join(text.split())


def for_teams(message: str) -> str:
    """The core's messages name Slack's slash command; in Teams people type the word."""
    return message.replace("`/outage", "`outage").replace("/outage ", "outage ")


@dataclass
class Turn:
    context: TurnContext

    @property
    def activity(self) -> Activity:
        return self.context.activity

    @cached_property
    def actor(self) -> Actor:
        person = self.activity.from_property
        user_id = (person.aad_object_id or person.id or "") if person else ""
        name = _printable(person.name) if person and person.name else None
        return Actor(platform=PLATFORM, user_id=_printable(str(user_id)), name=name)

    @property
    def teams_id(self) -> str | None:
        person = self.activity.from_property
        return person.id if person else None

    @cached_property
    def reference(self) -> dict[str, Any]:
        return conversation_reference(self.activity)

    @property
    def conversation_id(self) -> str:
        return str(self.activity.conversation.id) if self.activity.conversation else ""

    @property
    def card_id(self) -> str | None:
        """The message whose card was clicked (Teams sends it as ``replyToId``)."""
        return self.activity.reply_to_id

    @cached_property
    def action(self) -> dict[str, Any]:
        value = self.activity.value if isinstance(self.activity.value, dict) else {}
        action = value.get("action")
        return action if isinstance(action, dict) else {}

    @property
    def verb(self) -> str:
        return str(self.action.get("verb") or "")

    @cached_property
    def form(self) -> Submission:
        data = self.action.get("data")
        return Submission(data if isinstance(data, dict) else {})

    @property
    def place(self) -> str:
        return self.form.text(Data.PLACE)

    async def reply(self, text: str, *, markdown: bool = False) -> None:
        message = MessageFactory.text(text)
        if not markdown:
            message.text_format = "plain"  # people's words in it stay as typed
        await self.context.send_activity(message)


def _printable(text: str) -> str:
    # Who acted is stored and audited: a control character (a NUL, which PostgreSQL's text and
    # JSON refuse) in an id or a name from an unchecked caller must not break the write.
    return "".join(ch for ch in text if not forbidden(ch) and ch not in "\n\t")
