"""What Crier heard, in Slack: new replies to an incident's posts (in its thread), and a surge
of mentions of a service (in the incident's thread, or the comms channel with *Declare outage*);
each reply or mention shown with *Reply*, which drafts a public answer to it.

Everything the public wrote (a reply's text, its author's name) goes in plain_text objects,
where Slack reads no markup: a ``<!channel>`` or ``<@U123>`` in a reply stays those characters
and pings nobody, and ``*bold*`` stays asterisks. The words are ``bot.chat.heard_lines``'.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.chat.heard_lines import (
    EXAMPLES_LEAD,
    SPIKE_EXAMPLES_LEAD,
    heard_head,
    item_line,
    link_label,
    negative_line,
    open_link,
    spike_head,
    spike_where,
)
from bot.listening.views import HeardBatch, HeardView, SpikeAlert
from handlers.slack.ids import Action
from handlers.slack.messages import Message, render
from handlers.slack.text import escape, plain

HEARD_BLOCK = "heard"  # marks these messages among a thread's
SPIKE_BLOCK = "mention_spike"
# A reply longer than this is cut ("… (N more characters)"); its link leads to all of it.
REPLY_LIMIT = 1500
# Slack's 50 blocks: up to three for the head, two per reply, one for those left out.
MOST_ITEMS = 20


def _small(text: str) -> ContextBlock:
    """A line of small print as plain text (it may hold the public's words)."""
    return ContextBlock(elements=[PlainTextObject(text=plain(text, limit=2000), emoji=False)])


def _link(url: str, label: str) -> str:
    """A mrkdwn link whose address cannot end it early: ``|`` would start the label."""
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def item_blocks(view: HeardView, zone: ZoneInfo, *, reply: bool = False) -> list[Block]:
    """One reply: its mood, network, author and time (with its link), then its text; with
    ``reply``, *Reply* beside it (beside, not below: a block more per reply would pass Slack's
    50 with ``MOST_ITEMS`` of them)."""
    meta: list[PlainTextObject | MarkdownTextObject] = [
        PlainTextObject(text=plain(item_line(view, zone), limit=1000), emoji=False)
    ]
    url = open_link(view)
    if url:
        meta.append(MarkdownTextObject(text=_link(url, link_label(view))))
    said = view.text.strip() or "(no text)"  # Slack refuses an empty text object
    text = PlainTextObject(text=plain(said, limit=REPLY_LIMIT), emoji=False)
    button = None
    if reply:
        button = ButtonElement(text="Reply", action_id=Action.HEARD_REPLY, value=str(view.id))
    return [ContextBlock(elements=meta), SectionBlock(text=text, accessory=button)]


def _items(views: tuple[HeardView, ...], zone: ZoneInfo, *, reply: bool = False) -> list[Block]:
    blocks: list[Block] = []
    for view in views[:MOST_ITEMS]:
        blocks += item_blocks(view, zone, reply=reply)
    if len(views) > MOST_ITEMS:
        blocks.append(_small(f"…and {len(views) - MOST_ITEMS} more, not shown here."))
    return blocks


def heard_message(batch: HeardBatch, *, zone: ZoneInfo) -> Message:
    """New replies for the incident's thread: each of them, or (a burst) its summary, its share
    negative and the angriest few; each with *Reply*."""
    head = heard_head(batch)
    blocks: list[Block] = [
        SectionBlock(block_id=HEARD_BLOCK, text=MarkdownTextObject(text=f"💬 *{escape(head)}*"))
    ]
    if batch.summary:
        blocks.append(SectionBlock(text=PlainTextObject(text=plain(batch.summary), emoji=False)))
        negative = negative_line(batch)
        if negative:
            blocks.append(_small(negative))
        blocks.append(_small(EXAMPLES_LEAD))
    blocks += _items(batch.items, zone, reply=True)  # each answered in public from *Reply*
    return render(blocks, f"💬 {escape(head)}")


def spike_message(alert: SpikeAlert, *, incident_id: int | None, zone: ZoneInfo) -> Message:
    """A surge of mentions: its sentence and examples, each with *Reply* (an answer to a mention
    of no incident is shown in the comms channel); without an open incident (in the comms
    channel), *Declare outage*, which opens the declare form with the service chosen."""
    head = spike_head(alert)
    blocks: list[Block] = [
        HeaderBlock(block_id=SPIKE_BLOCK, text=PlainTextObject(text=plain(head, limit=150))),
        SectionBlock(text=PlainTextObject(text=plain(alert.sentence), emoji=False)),
        _small(spike_where(alert, incident_id)),
    ]
    if alert.examples:
        blocks.append(_small(SPIKE_EXAMPLES_LEAD))
        blocks += _items(alert.examples, zone, reply=True)
    if incident_id is None:
        declare = ButtonElement(
            text="Declare outage",
            action_id=Action.SPIKE_DECLARE,
            value=alert.service[:2000],  # a button's value holds 2,000 characters
            style="primary",
        )
        blocks.append(ActionsBlock(block_id=f"{SPIKE_BLOCK}_actions", elements=[declare]))
    return render(blocks, escape(head))
