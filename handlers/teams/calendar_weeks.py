"""The next two weeks of the content calendar in Teams ("calendar" typed to Crier): each post
waiting for approval, scheduled or held, grouped by day, with its state, its series if any, and
the buttons its state offers — *Approve* / *Skip* while it waits, *Skip* once scheduled, *Post
now* / *Skip* when held. Who may press them is the core's to say. *Propose a post* opens the
form that proposes one (``calendar_form``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.scheduling import calendar
from bot.scheduling.calendar import CalendarEntry, CalendarState
from bot.storage.store import Store
from handlers.teams.calendar_batch import action_set, post_rows
from handlers.teams.elements import Element, banner, card, execute, heading, labelled, note
from handlers.teams.ids import Data, Verb

AHEAD = timedelta(days=14)
SHOWN_MAX = 25  # posts on one card: Teams refuses a card past about 28 KB
STATES = {
    CalendarState.PENDING: "⏳ waiting for approval",
    CalendarState.SCHEDULED: "🗓️ scheduled",
}


async def next_two_weeks(store: Store, now: datetime) -> list[CalendarEntry]:
    """Posts due within ``AHEAD`` that wait for an approver or are scheduled, and every held
    one (held posts are past their time: they wait for the all-clear)."""
    entries = await store.read(lambda s: calendar.upcoming(s, now=now, limit=200))
    return [e for e in entries if e.state == CalendarState.HELD or e.due_at <= now + AHEAD]


def _state(entry: CalendarEntry) -> str:
    if entry.state == CalendarState.HELD:
        return f"⏸️ held by {entry.held_until}"
    return STATES.get(entry.state, entry.state)


def _buttons(entry: CalendarEntry) -> list[Element]:
    data = {Data.SCHEDULED_POST_ID: entry.id}
    if entry.state == CalendarState.PENDING:
        approve = execute("Approve", Verb.CALENDAR_ENTRY_APPROVE, data, style="positive")
        return [approve, execute("Skip", Verb.CALENDAR_ENTRY_SKIP, data)]
    if entry.state == CalendarState.SCHEDULED:
        return [execute("Skip", Verb.CALENDAR_ENTRY_SKIP, data)]
    if entry.state == CalendarState.HELD:
        post_now = execute("Post now", Verb.CALENDAR_HELD_POST, data, style="positive")
        return [post_now, execute("Skip", Verb.CALENDAR_HELD_SKIP, data)]
    return []


def weeks_card(
    entries: list[CalendarEntry],
    *,
    zone: ZoneInfo,
    message: str | None = None,
    good_news: bool = False,
) -> Element:
    """``message``: what the last click did (``good_news``), or why it was refused."""
    body: list[Element] = [heading("📅 The content calendar: the next two weeks")]
    if message:
        body.insert(0, banner(message, color="Good" if good_news else "Attention"))
    if not entries:
        body.append(note("Nothing is scheduled, waiting for approval or held."))
    day = None
    for entry in entries[:SHOWN_MAX]:
        local = entry.due_at.astimezone(zone)
        if local.date() != day:
            day = local.date()
            body.append(heading(f"{local:%A} {local.day} {local:%B}", size="Default"))
        body += post_rows(entry, zone=zone, state=_state(entry))
        if entry.series:
            body.append(labelled("Series", entry.series))
        buttons = _buttons(entry)
        if buttons:
            body.append(action_set(buttons))
    if len(entries) > SHOWN_MAX:
        body.append(note(f"… and {len(entries) - SHOWN_MAX} more after these.", subtle=True))
    actions = [execute("Propose a post", Verb.CALENDAR_FORM)]
    return card(body, actions=actions, summary=f"The content calendar: {len(entries)} post(s)")
