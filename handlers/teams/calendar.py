"""A content-calendar post in Teams: a card with what it says, when and where it goes, and its
decision — *Approve* and *Reject* while it waits for an approver."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.drafting.post_times import format_time
from bot.scheduling.calendar import CalendarEntry, CalendarState
from handlers.teams.anchors import People
from handlers.teams.elements import Element, banner, card, execute, heading, labelled, line, plain
from handlers.teams.elements import run as text_run
from handlers.teams.ids import Data, Verb


def _decision(entry: CalendarEntry, zone: ZoneInfo, people: People) -> Element:
    decided = f" at {format_time(entry.decided_at, zone)}" if entry.decided_at else ""
    by = people.name(entry.decided_by)
    if entry.state == CalendarState.PENDING:
        return plain("⏳ Waits for an approver who did not propose it.")
    if entry.state == CalendarState.REJECTED:
        return line(text_run("🚫 Rejected by "), text_run(by, bold=True), text_run(decided + "."))
    outcome = f"{decided}; {entry.outcome}."
    return line(text_run("✅ Approved by "), text_run(by, bold=True), text_run(outcome))


def calendar_card(
    entry: CalendarEntry,
    *,
    zone: ZoneInfo,
    people: People | None = None,
    message: str | None = None,
) -> Element:
    """The post for the approvers; ``people``: the names Crier knows of who acted."""
    people = people or People()
    when = format_time(entry.due_at, zone)
    body: list[Element] = [
        heading(f"📅 Scheduled post #{entry.id}"),
        labelled("Goes out", when),
        labelled("On", entry.channel_labels),
        labelled("Proposed by", people.name(entry.created_by)),
        plain(entry.text),
        _decision(entry, zone, people),
    ]
    if message:
        body.insert(0, banner(message))
    actions: list[Element] = []
    if entry.state == CalendarState.PENDING:
        data = {Data.SCHEDULED_POST_ID: entry.id}
        actions = [
            execute("Approve", Verb.CALENDAR_APPROVE, data, style="positive"),
            execute("Reject", Verb.CALENDAR_REJECT, data, style="destructive"),
        ]
    state = "waits for approval" if entry.state == CalendarState.PENDING else entry.state
    return card(body, actions=actions, summary=f"Scheduled post #{entry.id} {state}")
