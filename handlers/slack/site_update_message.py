"""A status-site post in a Slack channel that follows its service (``/outage follow``).

The post's text is shown as Block Kit plain text, as the thread shows a published text: what the
site says, never a ping (a ``<!channel>`` in it stays those characters). Every other piece of it
that people wrote is escaped, the notification's text included.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, PlainTextObject, SectionBlock

from bot.views import SiteUpdate
from handlers.slack.messages import Message, fields, note, render, section
from handlers.slack.text import escape, plain, when

SITE_UPDATE_BLOCK = "site_update"  # marks these messages among a channel's


def site_update_message(update: SiteUpdate, *, zone: ZoneInfo) -> Message:
    blocks: list[Block] = [
        SectionBlock(
            block_id=SITE_UPDATE_BLOCK, text=plain(f"📣 *{escape(update.title)}*", limit=500)
        ),
        fields(
            ("Status", escape(update.status)),
            ("Service", escape(update.service)),
            ("Published", when(update.published_at, zone)),
        ),
    ]
    if update.text.strip():  # Slack refuses an empty text object
        blocks.append(SectionBlock(text=PlainTextObject(text=plain(update.text), emoji=False)))
    blocks += [
        section(f"<{escape(update.url)}|On the status site>"),
        note(
            f"This channel follows {escape(update.service)} on the status site · "
            "`/outage following` says what it follows, `/outage unfollow` stops it"
        ),
    ]
    return render(blocks, escape(f"{update.status}: {update.title}"))
