"""A recurring series' batch in Teams: one card with the posts drafted for the week ahead, each
with its time, channels and text, and *Approve* / *Skip*, and *Approve all* for those waiting.

A decided post keeps its place on the card and says who decided ("Approved by …", "Skipped by
…") without buttons; the others keep theirs. People's words (the posts, names) go in TextRuns,
which Teams never reads as markdown. ``calendar_weeks`` shows the next two weeks with the same
rows.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.drafting.post_times import format_time
from bot.scheduling.calendar import CalendarBatch, CalendarEntry, CalendarState
from handlers.teams.anchors import People
from handlers.teams.elements import Element, card, execute, heading, line, note, plain, with_banner
from handlers.teams.elements import run as text_run
from handlers.teams.ids import Data, Verb
from handlers.teams.maintenance_card import when

POST_TEXT_LIMIT = 600  # per post: a week of posts must stay within what Teams takes in a card
SHOWN_MAX = 20  # posts on one card; *Approve all* still approves every waiting one


def action_set(actions: list[Element]) -> Element:
    """Buttons under one post (a card's own actions are for the card as a whole)."""
    return {"type": "ActionSet", "actions": actions}


def decided_line(entry: CalendarEntry, zone: ZoneInfo, people: People) -> Element | None:
    """What became of a post that is no longer waiting, and who decided; None if it waits."""
    if entry.state == CalendarState.PENDING:
        return None
    at = f" at {format_time(entry.decided_at, zone)}" if entry.decided_at else ""
    who = text_run(people.name(entry.decided_by), bold=True)
    if entry.state == CalendarState.SKIPPED:
        return line(text_run("⏭️ Skipped by "), who, text_run(f"{at}: it does not go out."))
    if entry.state == CalendarState.REJECTED:
        return line(text_run("🚫 Rejected by "), who, text_run(f"{at}: it does not go out."))
    return line(text_run("✅ Approved by "), who, text_run(f"{at}; {entry.outcome}."))


def post_rows(entry: CalendarEntry, *, zone: ZoneInfo, state: str = "") -> list[Element]:
    """A post's time (with its weekday), channels, and its text as written."""
    said = f" · {state}" if state else ""
    return [
        line(
            text_run(when(entry.due_at, zone), bold=True),
            text_run(f" · {entry.channel_labels}{said}"),
            separator=True,
        ),
        plain(entry.text, limit=POST_TEXT_LIMIT),
    ]


def _series_names(batch: CalendarBatch) -> str:
    names = dict.fromkeys(e.series for e in batch.entries if e.series)
    return ", ".join(names) or "the content calendar"


def batch_card(
    batch: CalendarBatch,
    *,
    zone: ZoneInfo,
    now: datetime,
    people: People | None = None,
    message: str | None = None,
) -> Element:
    """The batch for the approvers; ``message``: a refusal, shown to the clicker on top."""
    people = people or People()
    waiting = [e for e in batch.waiting if e.due_at > now]
    title = f"📅 Next week's posts from {_series_names(batch)}: {len(waiting)} waiting for approval"
    body: list[Element] = [
        heading(title),
        note(
            "Each goes out at its time once approved (held while an incident is open); "
            "one nobody approves is never published.",
            subtle=True,
        ),
    ]
    for entry in batch.entries[:SHOWN_MAX]:
        body += post_rows(entry, zone=zone)
        decided = decided_line(entry, zone, people)
        if decided is not None:
            body.append(decided)
        elif entry.due_at <= now:
            body.append(plain("⌛ Nobody approved it in time: it does not go out."))
        else:
            data = {Data.SCHEDULED_POST_ID: entry.id, Data.BATCH_ID: batch.id}
            approve = execute("Approve", Verb.CALENDAR_ENTRY_APPROVE, data, style="positive")
            body.append(action_set([approve, execute("Skip", Verb.CALENDAR_ENTRY_SKIP, data)]))
    if len(batch.entries) > SHOWN_MAX:
        more = len(batch.entries) - SHOWN_MAX
        body.append(note(f"… and {more} more: type **calendar** to see them.", subtle=True))
    actions: list[Element] = []
    if waiting:
        data = {Data.BATCH_ID: batch.id}
        actions = [execute("Approve all", Verb.CALENDAR_APPROVE_ALL, data, style="positive")]
    summary = f"Batch #{batch.id} of the content calendar: {len(waiting)} waiting for approval"
    return card(with_banner(body, message), actions=actions, summary=summary)
