"""A recurring series' batch in Slack: one message for the approvers with the posts drafted for
the week ahead, each with its time and text and, while it waits, *Approve* and *Skip*; then
*Approve all*. A decided post says who decided instead of its buttons; the others keep theirs."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, PlainTextObject, SectionBlock

from bot.scheduling.calendar import CalendarBatch, CalendarEntry, CalendarState
from handlers.slack.calendar_message import decision, due_day
from handlers.slack.ids import Action
from handlers.slack.messages import Message, button_row, note, render, section
from handlers.slack.text import escape, plain

# Slack's 50 blocks: the head, two per post, *Approve all* and a line for the posts left out.
MOST_POSTS = 23


def series_names(batch: CalendarBatch) -> str:
    """The series its posts were drafted for, in order: "Tech tips", "Tech tips and Tutorials"."""
    names = list(dict.fromkeys(e.series or "the calendar" for e in batch.entries))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def _post_blocks(entry: CalendarEntry, zone: ZoneInfo) -> list[Block]:
    """Its time, channels and text (plain text: what it says never pings anyone), then its
    buttons while it waits, or the decision."""
    head = f"{due_day(entry, zone)} · {entry.channel_labels}"
    text = SectionBlock(text=PlainTextObject(text=plain(f"{head}\n{entry.text}"), emoji=False))
    if entry.state != CalendarState.PENDING:
        return [text, note(decision(entry, zone))]
    choices = {Action.BATCH_APPROVE: "Approve", Action.BATCH_SKIP: "Skip"}
    return [text, button_row(f"calendar_batch_post_{entry.id}", entry.id, choices)]


def batch_message(batch: CalendarBatch, *, zone: ZoneInfo, mentions: str = "") -> Message:
    """The batch for the approvers; ``mentions`` (approvers to ping) while a post waits."""
    waiting = len(batch.waiting)
    said = f"Next week's posts from {series_names(batch)}: {waiting} waiting for approval"
    head = f"📅 *{escape(said)}*"
    if waiting and mentions:
        head += f"\n{mentions}: approve or skip each post, or approve them all."
    blocks: list[Block] = [section(plain(head))]
    for entry in batch.entries[:MOST_POSTS]:
        blocks += _post_blocks(entry, zone)
    if len(batch.entries) > MOST_POSTS:
        left = len(batch.entries) - MOST_POSTS
        blocks.append(note(f"…and {left} more: `/outage calendar` lists them all."))
    if waiting:
        approve_all = {Action.BATCH_APPROVE_ALL: f"Approve all ({waiting})"}
        blocks.append(button_row(f"calendar_batch_{batch.id}", batch.id, approve_all))
    return render(blocks, said)
