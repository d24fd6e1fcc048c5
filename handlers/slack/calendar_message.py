"""A content-calendar post in Slack: what it says, when and where it goes, and its decision —
*Approve* and *Reject* while it waits for an approver. ``decision`` and ``due_day`` are shared
with the batch message and `/outage calendar`'s list."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ConfirmObject,
    PlainTextObject,
    SectionBlock,
)

from bot.drafting.post_times import format_time
from bot.scheduling.calendar import CalendarEntry, CalendarState
from handlers.slack.ids import Action
from handlers.slack.messages import Message, button_row, note, render, section
from handlers.slack.text import escape, mention, plain


def who(actor_key: str | None) -> str:
    """A Slack user as a mention; anyone else by their key (``cli:jo``, ``teams:…``)."""
    if actor_key and actor_key.startswith("slack:"):
        return mention(actor_key)
    return escape(actor_key or "someone")


def due_day(entry: CalendarEntry, zone: ZoneInfo) -> str:
    """When it goes out, with its weekday: "Mon 19 Jan, 10:00 AM EST" (the organisation's)."""
    local = entry.due_at.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {format_time(entry.due_at, zone)}"


def decision(entry: CalendarEntry, zone: ZoneInfo) -> str:
    """Who decided on it, when, and what became of it (markdown: the decider is mentioned)."""
    decided = f" at {format_time(entry.decided_at, zone)}" if entry.decided_at else ""
    by = who(entry.decided_by)
    if entry.state == CalendarState.PENDING:
        return "⏳ Waits for an approver who did not propose it."
    if entry.state == CalendarState.REJECTED:
        return f"🚫 Rejected by {by}{decided}: it will not be posted."
    if entry.state == CalendarState.SKIPPED:
        return f"⏭️ Skipped by {by}{decided}: it will not be posted."
    return f"✅ Approved by {by}{decided}; {escape(entry.outcome)}."


def calendar_message(entry: CalendarEntry, *, zone: ZoneInfo, mentions: str = "") -> Message:
    """The post for the approvers; ``mentions`` (approvers to ping) only while it is pending."""
    when = format_time(entry.due_at, zone)
    head = f"📅 *Scheduled post #{entry.id}* · {escape(when)} · {escape(entry.channel_labels)}"
    pending = entry.state == CalendarState.PENDING
    if pending and mentions:
        head += f"\n{mentions}: please approve or reject it."
    blocks: list[Block] = [
        section(plain(head)),
        SectionBlock(text=PlainTextObject(text=plain(entry.text), emoji=False)),
        note(f"Proposed by {who(entry.created_by)} · {decision(entry, zone)}"),
    ]
    if pending:
        sure = ConfirmObject(
            title="Approve this post?",
            text=f"It goes out on {entry.channel_labels} at {when}.",
            confirm="Approve",
            deny="Cancel",
        )
        choices = {Action.CALENDAR_APPROVE: "Approve", Action.CALENDAR_REJECT: "Reject"}
        blocks.append(button_row(f"calendar_{entry.id}", entry.id, choices, sure))
    state = "waits for approval" if pending else entry.state
    text = f"Scheduled post #{entry.id} for {when} {state}"
    return render(blocks, text)
