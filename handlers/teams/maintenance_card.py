"""A planned maintenance on a Teams card, with the buttons its moment calls for
(``bot.maintenance.series.ShowReason``):

- for review: every post of the series, when it goes out and what it says; *Approve all* / *Reject*
- a change: the extension or cancellation and its text; *Approve* / *Reject*
- overdue: the window has ended; *Complete* / *Extend by…*

The series' card also has *Edit* / *Cancel maintenance* while the maintenance waits for approval
or for its window. Once answered, the card says what happened and who answered, and has no other
buttons. What people
typed (the services' work, the posts' texts) is shown as plain text, never read as markdown.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.drafting.post_times import MARK, format_time, shown
from bot.incidents import labels
from bot.maintenance.drafting import KIND_LABELS
from bot.maintenance.series import (
    MaintenanceShown,
    MaintenanceView,
    PostState,
    SeriesPost,
    ShowReason,
)
from bot.maintenance.window import SeriesKind, describe_window
from bot.storage.models import MaintenanceState
from handlers.teams.anchors import People
from handlers.teams.elements import (
    Element,
    card,
    execute,
    labelled,
    line,
    note,
    plain,
    run,
    with_banner,
)
from handlers.teams.ids import Data, Verb

SERIES = (SeriesKind.ANNOUNCE, SeriesKind.REMINDER, SeriesKind.START, SeriesKind.COMPLETE)
UNDER_WAY = (MaintenanceState.SCHEDULED, MaintenanceState.IN_PROGRESS)
EXTENSIONS = ((30, "Extend by 30 min"), (60, "Extend by 1 hour"), (120, "Extend by 2 hours"))
# The characters of posts' texts one card shows whole, together: Teams refuses a message past
# ~28 KB; a series of four posts on six channels stays well under it.
TEXTS_BUDGET = 18_000
TIMES_LEGEND = f"{MARK} marks the time set when each post goes out."


def when(at: datetime, zone: ZoneInfo) -> str:
    """ "Thu 5 Mar, 1:00 AM EST"."""
    local = at.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {format_time(at, zone)}"


def kind_label(kind: SeriesKind) -> str:
    return KIND_LABELS[kind].capitalize()


def decided_line(icon: str, said: str, who: str, after: str) -> Element:
    """What became of the card's question: "✅ Approved by **Alex** at 10:00 AM EST: …"."""
    return line(run(f"{icon} {said} "), run(who, bold=True), run(after))


def actionable(shown: MaintenanceShown) -> bool:
    """Whether the card's question is still open (its buttons still mean something)."""
    maintenance = shown.maintenance
    if shown.reason == ShowReason.REVIEW:
        return maintenance.state == MaintenanceState.PENDING
    if shown.reason == ShowReason.CHANGE:
        return shown.change is not None and shown.change.state == PostState.PENDING
    if shown.reason == ShowReason.OVERDUE:
        return maintenance.state in UNDER_WAY
    return False


def maintenance_card(
    shown: MaintenanceShown,
    *,
    zone: ZoneInfo,
    now: datetime,
    people: People,
    message: str | None = None,
    outcome: Element | None = None,
) -> Element:
    """The card for ``shown.reason``; ``outcome``: what was decided on it (then no buttons);
    ``message``: a refusal, for the person who clicked, above the card."""
    maintenance = shown.maintenance
    body = _head(maintenance, zone, people)
    if shown.reason == ShowReason.REVIEW:
        body += _series(maintenance, zone=zone, now=now)
    elif shown.reason == ShowReason.CHANGE and shown.change is not None:
        body += _change(maintenance, shown.change, zone=zone)
    elif shown.reason == ShowReason.OVERDUE:
        ended = when(maintenance.window.ends_at, zone)
        body.append(line(run(f"⏰ The window ended at {ended}: is the work done?", bold=True)))
    open_question = outcome is None and actionable(shown)
    body.append(outcome or _status(shown))
    actions = _actions(shown) if open_question else []
    if shown.reason == ShowReason.REVIEW:
        actions += _changes(maintenance)
    return card(with_banner(body, message), actions=actions, summary=_summary(shown))


def _head(maintenance: MaintenanceView, zone: ZoneInfo, people: People) -> list[Element]:
    services = ", ".join(maintenance.services)
    return [
        line(
            run("🛠 Planned maintenance: "),
            run(f"{services} — {maintenance.title}", bold=True, size="Large"),
        ),
        labelled("Window", describe_window(maintenance.window, zone)),
        labelled("Planned by", people.name(maintenance.created_by)),
        labelled("Channels", labels.channels(maintenance.channels)),
        note(f"Maintenance #{maintenance.id}", subtle=True),
    ]


def _goes_out(post: SeriesPost, zone: ZoneInfo, now: datetime) -> str:
    if post.due_at is None:
        return "when you mark it complete"
    if post.due_at <= now and post.state == PostState.PENDING:
        return "as soon as it is approved"
    return when(post.due_at, zone)


def _texts(
    post: SeriesPost, channels: tuple[str, ...], *, zone: ZoneInfo, at: datetime, each: int
) -> list[Element]:
    """The post's text once per different text, under the channels it goes to."""
    by_text: dict[str, list[str]] = {}
    for channel in channels:
        if channel in post.texts:
            by_text.setdefault(post.texts[channel], []).append(channel)
    body: list[Element] = []
    for text, where in by_text.items():
        body.append(note(labels.channels(where), subtle=True))
        body.append(plain(shown(text, zone=zone, at=at, next_update_minutes=None), limit=each))
    return body


def _share(posts: list[SeriesPost]) -> int:
    count = sum(len(set(p.texts.values())) for p in posts) or 1
    return max(TEXTS_BUDGET // count, 300)


def _series(maintenance: MaintenanceView, *, zone: ZoneInfo, now: datetime) -> list[Element]:
    posts = [p for p in maintenance.posts if p.kind in SERIES]
    each = _share(posts)
    body: list[Element] = []
    for post in posts:
        goes_out = _goes_out(post, zone, now)
        body.append(
            line(run(kind_label(post.kind), bold=True), run(f" · {goes_out}"), separator=True)
        )
        at = post.due_at or maintenance.window.ends_at
        body += _texts(post, maintenance.channels, zone=zone, at=at, each=each)
    body.append(note(TIMES_LEGEND, subtle=True))
    return body


def _change(maintenance: MaintenanceView, change: SeriesPost, *, zone: ZoneInfo) -> list[Element]:
    what = "An extension of the window" if change.kind is SeriesKind.EXTENDED else "Calling it off"
    body = [line(run(what, bold=True), run(" · goes out once approved"), separator=True)]
    at = maintenance.window.ends_at
    body += _texts(change, maintenance.channels, zone=zone, at=at, each=_share([change]))
    body.append(note(TIMES_LEGEND, subtle=True))
    return body


def _status(shown: MaintenanceShown) -> Element:
    """Where things stand, when nobody has answered on this card."""
    state = shown.maintenance.state.replace("_", " ")
    if shown.reason == ShowReason.REVIEW:
        if shown.maintenance.state == MaintenanceState.PENDING:
            return plain("⏳ Waits for an approver who did not plan it.")
        return plain(f"This series is {state}.")
    if shown.reason == ShowReason.CHANGE:
        if actionable(shown):
            return plain("⏳ Waits for an approver who did not ask for it.")
        done = shown.change.state if shown.change else "decided"
        return plain(f"This was {done} already.")
    if actionable(shown):
        return note(
            "Complete publishes the approved completion now; an extension is drafted for an "
            "approver, and its approval moves the window's end."
        )
    return plain(f"This maintenance is {state}.")


def _actions(shown: MaintenanceShown) -> list[Element]:
    data: dict[str, object] = {Data.MAINTENANCE_ID: shown.maintenance.id}
    if shown.reason == ShowReason.REVIEW:
        data[Data.REVISION] = shown.maintenance.revision  # an edit since: the click is refused
        return [
            execute("Approve all", Verb.MAINTENANCE_APPROVE, data, style="positive"),
            execute("Reject", Verb.MAINTENANCE_REJECT, data, style="destructive"),
        ]
    if shown.reason == ShowReason.CHANGE and shown.change is not None:
        data[Data.CHANGE_ID] = shown.change.id
        return [
            execute("Approve", Verb.MAINTENANCE_CHANGE_APPROVE, data, style="positive"),
            execute("Reject", Verb.MAINTENANCE_CHANGE_REJECT, data, style="destructive"),
        ]
    if shown.reason == ShowReason.OVERDUE:
        extend = [
            execute(title, Verb.MAINTENANCE_EXTEND, {**data, Data.EXTEND_MINUTES: minutes})
            for minutes, title in EXTENSIONS
        ]
        return [execute("Complete", Verb.MAINTENANCE_COMPLETE, data, style="positive"), *extend]
    return []


def _changes(maintenance: MaintenanceView) -> list[Element]:
    """*Edit* and *Cancel maintenance* until the window (the core refuses them to whoever may
    not, and an edit once the window has begun)."""
    if maintenance.state not in (MaintenanceState.PENDING, MaintenanceState.SCHEDULED):
        return []
    data: dict[str, object] = {Data.MAINTENANCE_ID: maintenance.id}
    return [
        execute("Edit", Verb.MAINTENANCE_EDIT_FORM, data),
        execute("Cancel maintenance", Verb.MAINTENANCE_CANCEL, data, style="destructive"),
    ]


def _summary(shown: MaintenanceShown) -> str:
    number = f"Maintenance #{shown.maintenance.id}"
    if shown.reason == ShowReason.REVIEW:
        return f"{number}: its posts wait for approval"
    if shown.reason == ShowReason.CHANGE:
        return f"{number}: a change waits for approval"
    if shown.reason == ShowReason.OVERDUE:
        return f"{number}: its window has ended"
    return number
