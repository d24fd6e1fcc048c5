"""A channel notice in Slack: a message in the comms channel itself, outside any incident's
thread (a public channel stopped working or is back, an API version or a token near its end)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.views import Notice
from handlers.slack.messages import Message, note, render
from handlers.slack.text import escape, plain

NOTICE_BLOCK = "channel_notice"  # the block id that marks a notice among the channel's messages
MARKS = {
    "channel_down": "🔴",
    "channel_up": "🟢",
    "version_ending": "⚠️",
    "version_ended": "⛔",
    "token_expiring": "🔑",
}


def notice_message(notice: Notice, *, mentions: str = "") -> Message:
    mark = MARKS.get(notice.kind, "📣")
    head = f"{mark} *{escape(notice.title)}*"
    if mentions:
        head += f"  {mentions}"
    blocks: list[Block] = [
        SectionBlock(
            block_id=NOTICE_BLOCK,
            text=MarkdownTextObject(text=plain(f"{head}\n{escape(notice.text)}")),
        ),
        note("Crier's channel health check · `crier channels check` shows every channel"),
    ]
    return render(blocks, f"{mark} {notice.title}")
