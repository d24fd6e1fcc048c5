"""A content-calendar post in Teams: a card with what it says, when and where it goes, and its
decision — *Approve* and *Reject* while it waits for an approver."""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from bot.drafting.post_times import format_time
from bot.scheduling.calendar import CalendarEntry, CalendarState
from handlers.teams.elements import Element, banner, card, execute, heading, labelled, line, plain
from handlers.teams.elements import run as text_run
from handlers.teams.ids import PLATFORM, Data, Verb


def name_of(actor_key: str | None, names: Mapping[str, str]) -> str:
    """A display name where Crier knows one, else who it is (``slack:U…``, ``cli:jo``)."""
    if not actor_key:
        return "someone"
    if actor_key in names:
        return names[actor_key]
    return "a Teams user" if actor_key.startswith(f"{PLATFORM}:") else actor_key


def _decision(entry: CalendarEntry, zone: ZoneInfo, names: Mapping[str, str]) -> Element:
    decided = f" at {format_time(entry.decided_at, zone)}" if entry.decided_at else ""
    by = name_of(entry.decided_by, names)
    if entry.state == CalendarState.PENDING:
        return plain("⏳ Waits for an approver who did not propose it.")
    if entry.state == CalendarState.REJECTED:
        return line(text_run("🚫 Rejected by "), text_run(by, bold=True), text_run(decided + "."))
    outcome = {
        CalendarState.SCHEDULED: ": it goes out at its time (held while an incident is open).",
        CalendarState.HELD: f"; held by incident #{entry.held_by} until its all-clear.",
        CalendarState.PUBLISHED: "; published.",
    }.get(entry.state, f"; {entry.state}.")
    return line(text_run("✅ Approved by "), text_run(by, bold=True), text_run(decided + outcome))


def calendar_card(
    entry: CalendarEntry,
    *,
    zone: ZoneInfo,
    names: Mapping[str, str] | None = None,
    message: str | None = None,
) -> Element:
    """The post for the approvers; ``names``: display names by actor key, where known."""
    names = names or {}
    when = format_time(entry.due_at, zone)
    body: list[Element] = [
        heading(f"📅 Scheduled post #{entry.id}"),
        labelled("Goes out", when),
        labelled("On", entry.channel_labels),
        labelled("Proposed by", name_of(entry.created_by, names)),
        plain(entry.text),
        _decision(entry, zone, names),
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
