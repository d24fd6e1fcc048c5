"""The content calendar's recurring series (crier.yml's ``calendar_series``): "Mon, Wed, Fri at
10:00", each time the next post of a bank, in turn.

Every day a job drafts each occurrence not drafted yet up to the end of the organisation's
week (Monday to Sunday) seven days ahead: the first drafting takes the rest of this week and all
of the next, then each Monday drafts the whole following week, one batch a week (the days
between find nothing new; a series added mid-week is drafted at once). Each is a ``pending``
calendar post (authored by crier.yml, so any approver may approve it), the bank's next text
(its posts in order, going on from the last one the series used, then round again). The posts
of one drafting are a batch, shown to the approvers together (``ChatShows.calendar_batch``):
*Approve* and *Skip* each, or *Approve all* (``bot.scheduling.calendar``). A post nobody approved
never goes out; the day before it is due (at the same time on the clock), the comms channel is
told it still waits. An approved post goes out at its time, or is held while an incident is
open, like any calendar post.

Times: a rule's wall-clock times are the organisation's. Occurrences are made as naive local
times, then placed in the zone, so 10:00 stays 10:00 across a clock change. A time the clock
skips (02:30 the night it springs forward) goes out at the same moment as the offset before
the gap makes it, an hour later on the clock (03:30), as RFC 5545 says; a time the clock shows
twice (01:30 the night it falls back) is its first.

    core.scheduler: CalendarSeriesJobs(store=…, config=…, clock=…, notice=core.notice,
                                       show=core.chat.calendar_batch).handlers()
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.config import CrierConfig
from bot.config_calendar import CalendarSeries
from bot.drafting.post_times import promise_time
from bot.ports import Clock
from bot.scheduling import jobs
from bot.scheduling.calendar import (
    CONFIG_ACTOR,
    SERIES_DRAFT,
    CalendarBatch,
    CalendarState,
    batch,
    entry,
)
from bot.scheduling.jobs import Again, JobHandler, JobRun
from bot.storage import audit
from bot.storage.models import ScheduledPost
from bot.storage.store import Store
from bot.views import Notice

BATCH_REVIEW = "calendar_batch_review"  # a batch is shown to the approvers
UNAPPROVED = "calendar_unapproved"  # the day before a post still waiting is due
AHEAD = timedelta(days=7)
# When the daily drafting runs (the organisation's time): its batch comes in working hours.
DRAFT_AT = time(9, 0)


def on_the_clock(wall: datetime, zone: ZoneInfo) -> datetime:
    """The moment (UTC) of ``wall``, a naive time on ``zone``'s clock: a skipped time is taken
    with the offset before the gap, a repeated one is its first (PEP 495's ``fold=0``)."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def occurrences(
    series: CalendarSeries, *, zone: ZoneInfo, after: datetime, until: datetime
) -> list[datetime]:
    """The series' times (UTC) in (``after``, ``until``], each once, in order."""
    # Asked on the local clock with a few hours' margin each side (the zone's offset may
    # change within the window), then kept by their real moment.
    margin = timedelta(hours=3)
    start = after.astimezone(zone).replace(tzinfo=None) - margin
    end = until.astimezone(zone).replace(tzinfo=None) + margin
    found: list[datetime] = []
    for wall in series.recurrence().between(start, end, inc=True):
        at = on_the_clock(wall, zone)
        if after < at <= until and at not in found:  # two skipped times may meet
            found.append(at)
    return sorted(found)


def day_before(due_at: datetime, zone: ZoneInfo) -> datetime:
    """The same time on the clock the day before ``due_at`` (23 or 25 hours across a change)."""
    wall = due_at.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    return on_the_clock(wall, zone)


def horizon(now: datetime, zone: ZoneInfo) -> datetime:
    """Where drafting stops: the end of the organisation's week (Monday 00:00 after its Sunday)
    that holds ``now + AHEAD``. Drafting whole weeks is what makes a batch a week's posts:
    a rolling seven days would draft one post a day after the first."""
    ahead = (now + AHEAD).astimezone(zone).date()
    monday = ahead + timedelta(days=7 - ahead.weekday())
    return on_the_clock(datetime.combine(monday, time()), zone)


def next_drafting(now: datetime, zone: ZoneInfo) -> datetime:
    """Tomorrow at ``DRAFT_AT``, the organisation's time."""
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return on_the_clock(datetime.combine(tomorrow, DRAFT_AT), zone)


def _next_position(session: Session, series: CalendarSeries) -> int:
    """Where in the bank the series goes on: after the text of its latest occurrence."""
    last = session.exec(
        select(ScheduledPost.bank_position)
        .where(ScheduledPost.series == series.name)
        .order_by(col(ScheduledPost.occurrence_at).desc())
        .limit(1)
    ).first()
    return 0 if last is None else (last + 1) % len(series.texts)


def _drafted(session: Session, series: CalendarSeries, after: datetime) -> set[datetime]:
    return {
        at
        for at in session.exec(
            select(ScheduledPost.occurrence_at).where(
                ScheduledPost.series == series.name, col(ScheduledPost.occurrence_at) > after
            )
        )
        if at is not None
    }


def draft_ahead(session: Session, *, config: CrierConfig, now: datetime) -> CalendarBatch | None:
    """Draft every occurrence before the ``horizon`` not drafted yet, as one batch (None when
    there was nothing to draft): each ``pending``, audited, reminded the day before it is due,
    and the batch shown to the approvers (a ``BATCH_REVIEW`` job). Drafting again drafts
    nothing new; an occurrence is drafted once even by two processes (a unique index)."""
    zone = config.organisation.zone
    until = horizon(now, zone) - timedelta(microseconds=1)  # Monday 00:00 is next week's
    posts: list[ScheduledPost] = []
    for series in config.calendar_series:
        drafted = _drafted(session, series, now)
        position = _next_position(session, series)
        for at in occurrences(series, zone=zone, after=now, until=until):
            if at in drafted:
                continue
            posts.append(
                ScheduledPost(
                    text=series.texts[position],
                    channels=[c.value for c in series.channels],
                    due_at=at,
                    state=CalendarState.PENDING,
                    created_by=CONFIG_ACTOR.key,
                    series=series.name,
                    occurrence_at=at,
                    bank_position=position,
                )
            )
            position = (position + 1) % len(series.texts)
    if not posts:
        return None
    session.add_all(posts)
    session.flush()
    batch_id = min(post.id or 0 for post in posts)
    for post in posts:
        post.batch = batch_id
        audit.record(
            session,
            actor=CONFIG_ACTOR,
            action="calendar_series_draft",
            at=now,
            detail={
                "scheduled_post_id": post.id,
                "series": post.series,
                "due_at": post.due_at.isoformat(),
                "bank_position": post.bank_position,
                "batch": batch_id,
            },
        )
        remind_at = day_before(post.due_at, zone)
        if remind_at > now:  # drafted later than that: its batch is the reminder
            jobs.schedule(
                session,
                kind=UNAPPROVED,
                key=f"{UNAPPROVED}:{post.id}",
                due_at=remind_at,
                payload={"scheduled_post_id": post.id},
            )
    payload = {"batch": batch_id}
    jobs.schedule(
        session, kind=BATCH_REVIEW, key=f"{BATCH_REVIEW}:{batch_id}", due_at=now, payload=payload
    )
    session.flush()
    return batch(session, batch_id)


@dataclass
class CalendarSeriesJobs:
    """What the series' jobs do when they fire: draft (daily), show a batch, remind."""

    store: Store
    config: CrierConfig
    clock: Clock
    notice: Callable[[Notice], Awaitable[None]]
    show: Callable[[CalendarBatch], Awaitable[None]]

    def handlers(self) -> dict[str, JobHandler]:
        return {SERIES_DRAFT: self.draft, BATCH_REVIEW: self.review, UNAPPROVED: self.remind}

    async def draft(self, run: JobRun) -> Again:
        """Draft the week ahead (its batch is shown by the job it writes), then again tomorrow.
        Killed before its commit, it drafts the same again; after, nothing new."""
        now = self.clock.now()
        drafted = await self.store.run(lambda s: draft_ahead(s, config=self.config, now=now))
        count = len(drafted.entries) if drafted is not None else 0
        return Again(at=next_drafting(now, self.config.organisation.zone), payload={"last": count})

    async def review(self, run: JobRun) -> str:
        """Show a batch to the approvers, unless every post of it was decided meanwhile."""
        shown = await self.store.read(lambda s: batch(s, int(run.payload.get("batch", 0))))
        if not shown.waiting:
            return "already decided"
        await self.show(shown)
        return "shown"

    async def remind(self, run: JobRun) -> str:
        """The day before: a post still waiting for an approver is said in the comms channel."""
        post_id = int(run.payload.get("scheduled_post_id", 0))
        found = await self.store.read(lambda s: s.get(ScheduledPost, post_id))
        if found is None or found.state != CalendarState.PENDING:
            return "already decided"
        waiting = entry(found)
        when = promise_time(self.clock.now(), waiting.due_at, self.config.organisation.zone)
        await self.notice(
            Notice(
                kind=UNAPPROVED,
                title=f"Not approved yet: the “{waiting.series}” post due {when}",
                text=f"Scheduled post #{waiting.id} (batch #{waiting.batch}) goes out on "
                f"{waiting.channel_labels} at {when} only if an approver approves it before; "
                f"unapproved, it is never published. It says: “{_excerpt(waiting.text)}”",
                mention_comms_lead=True,
            )
        )
        return "reminded"


def _excerpt(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
