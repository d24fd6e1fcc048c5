"""Slack's ``mrkdwn`` and ``plain_text``, rendered as safe HTML for the sandbox page.

Everything in a message is someone's text, so every character reaches the page escaped; only
the markup Slack itself understands becomes HTML::

    >>> to_html("*Approved* by <@U0APPROVER1>", Names({"U0APPROVER1": "Avery Approver"}))
    '<b>Approved</b> by <span class="mention">@Avery Approver</span>'
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape  # quotes too: safe in a quoted attribute

from handlers.slack.text import unescape

_STASH_OPEN, _STASH_CLOSE = "\ue000", "\ue001"  # private-use characters; removed from input
_STASHED = re.compile(f"{_STASH_OPEN}(\\d+){_STASH_CLOSE}")
_CODE_BLOCK = re.compile(r"```\n?(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_QUOTE = re.compile(r"&gt;( |$)")  # a line of a quote, once escaped
_CONTROL = re.compile(r"<([^<>\n]+)>")  # Slack's own sequences; people's < and > arrive escaped
_URL = re.compile(r"\bhttps?://[^\s<>\ue000\ue001]+[^\s<>.,;:!?)\]'\"\ue000\ue001]")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def _styled(mark: str, tag: str) -> tuple[re.Pattern[str], str]:
    m = re.escape(mark)
    return re.compile(rf"(?<![\w{m}]){m}(?=\S)([^{m}\n]*?\S){m}(?![\w{m}])"), tag


_STYLES = [_styled("*", "b"), _styled("_", "i"), _styled("~", "s")]

# The shortcodes Crier and Slack's own messages use; others stay as typed.
EMOJI = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "warning": "⚠️",
    "rotating_light": "🚨",
    "red_circle": "🔴",
    "large_orange_circle": "🟠",
    "large_yellow_circle": "🟡",
    "large_green_circle": "🟢",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "pencil2": "✏️",
    "no_entry_sign": "🚫",
    "loudspeaker": "📢",
    "mega": "📣",
    "tada": "🎉",
    "eyes": "👀",
    "wave": "👋",
    "thumbsup": "👍",
    "+1": "👍",
    "repeat": "🔁",
    "outbox_tray": "📤",
    "question": "❓",
    "information_source": "\u2139\ufe0f",
}
_SHORTCODE = re.compile(r":([a-z0-9_+\-]+):")


@dataclass
class Names:
    """How ids read on the page: ``U0ANA`` → ``Ana Analyst``, ``C0SANDBOX`` → ``it-outages``."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id.lower())

    def channel(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id.lower())


def emojify(escaped: str) -> str:
    return _SHORTCODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), escaped)


def plain_to_html(text: str, *, emoji: bool = True) -> str:
    """A ``plain_text`` object: shown as written, with ``:shortcodes:`` when ``emoji``."""
    escaped = escape(text)
    return (emojify(escaped) if emoji else escaped).replace("\n", "<br>")


def link(url: str, label_html: str) -> str:
    """An outward link (http, https or mailto only), opening in a new tab."""
    return f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">{label_html}</a>'


def _date(inner: str) -> str:
    # <!date^1700000000^{time} {date_short}^optional_link|fallback>
    spec, _, fallback = inner.partition("|")
    parts = spec.split("^")
    label = escape(unescape(fallback or spec))
    try:
        at = datetime.fromtimestamp(int(parts[1]), tz=UTC)
    except (IndexError, ValueError, OverflowError, OSError):
        return label
    token_format = parts[2] if len(parts) > 2 else "{time}"
    return (
        f'<time class="bk-date" datetime="{at.isoformat()}" '
        f'data-format="{escape(token_format)}">{label}</time>'
    )


def _control(inner: str, names: Names) -> str:
    """One ``<…>`` sequence: a mention, a channel, a date, a special mention or a link."""
    target, _, label = inner.partition("|")
    if target[:1] in ("@", "#"):
        name = label or (names.user if target[0] == "@" else names.channel)(target[1:])
        return f'<span class="mention">{target[0]}{escape(unescape(name))}</span>'
    if target.startswith("!date^"):
        return _date(inner)
    if target.startswith("!subteam^"):
        name = label or target.removeprefix("!subteam^")
        return f'<span class="mention">@{escape(unescape(name).lstrip("@"))}</span>'
    if target.startswith("!"):
        return f'<span class="mention">@{escape(unescape(label or target[1:]))}</span>'
    url = unescape(target)
    if not url.lower().startswith(_SAFE_SCHEMES):
        return escape(f"<{unescape(inner)}>")
    return link(url, escape(unescape(label or target)))


def _quotes(escaped: str) -> str:
    out: list[str] = []
    for quoted, lines in itertools.groupby(
        escaped.split("\n"), key=lambda s: bool(_QUOTE.match(s))
    ):
        if quoted:
            out.append("<blockquote>" + "\n".join(line[5:] for line in lines) + "</blockquote>")
        else:
            out.extend(lines)
    return "\n".join(out)


def to_html(text: str, names: Names) -> str:
    """A ``mrkdwn`` text as HTML: *bold*, _italic_, ~strike~, `code`, ```blocks```, quotes,
    links, mentions and dates; anything else is escaped text."""
    stash: list[str] = []

    def keep(fragment: str) -> str:
        stash.append(fragment)
        return f"{_STASH_OPEN}{len(stash) - 1}{_STASH_CLOSE}"

    def code(css: str) -> Callable[[re.Match[str]], str]:
        return lambda m: keep(f"<{css}>{escape(unescape(m.group(1)))}</{css}>")

    work = text.replace(_STASH_OPEN, "").replace(_STASH_CLOSE, "")
    work = _CODE_BLOCK.sub(code("pre"), work)
    work = _CODE.sub(code("code"), work)
    work = _CONTROL.sub(lambda m: keep(_control(m.group(1), names)), work)
    work = _URL.sub(lambda m: keep(link(m.group(0), escape(m.group(0)))), unescape(work))
    work = escape(work)
    for pattern, tag in _STYLES:
        work = pattern.sub(f"<{tag}>\\1</{tag}>", work)
    work = emojify(_quotes(work)).replace("\n", "<br>")
    while _STASHED.search(work):
        work = _STASHED.sub(lambda m: stash[int(m.group(1))], work)
    return work


def text_object(obj: object, names: Names) -> str:
    """A Block Kit text object (``{"type": "mrkdwn"|"plain_text", "text": …}``) as HTML."""
    if isinstance(obj, str):
        return to_html(obj, names)
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "plain_text":
        return plain_to_html(text, emoji=obj.get("emoji", True) is not False)
    return to_html(text, names)


def text_of(obj: object) -> str:
    """The words of a text object, without markup (for dialogs and tooltips)."""
    if not isinstance(obj, dict):
        return str(obj or "")
    text = str(obj.get("text", ""))
    return text if obj.get("type") == "plain_text" else unescape(text)
