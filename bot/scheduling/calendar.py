"""The content calendar.

Scheduled posts (weekly tips, tutorials, the odd joke) go out at their time through the same
publishers as incident posts — unless an incident is open: then they are held, the incident's
thread says so, and the all-clear offers to post each one now or skip it (the pause is
``bot.scheduling.calendar_pause``).

A calendar post is a draft like any other: it is proposed ``pending`` and shown to the approvers
(the ``calendar_review`` job); only an approver who is not its author schedules it. crier.yml's
entries count as approved: the config is reviewed like code. Who may decide is checked by the
core (``ContentCalendar``, through ``bot.incidents.approvers.Gate``) before these functions run.

A recurring series' posts (``bot.scheduling.calendar_series``) are drafted a week ahead in
batches: ``approve_batch`` schedules every waiting post of one at once, ``skip`` drops one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from bot.config import CrierConfig, Network
from bot.config_calendar import CALENDAR_TEXT_MAX, NOT_FOR_CALENDAR
from bot.drafting.mentions import mention_notes
from bot.drafting.post_times import format_time
from bot.drafting.textrules import measure
from bot.errors import Conflict, InvalidInput, NotFound
from bot.incidents.requests import check_channels, clean_text
from bot.ports import Actor
from bot.scheduling import jobs
from bot.storage import audit
from bot.storage.models import Delivery, DeliveryState, Job, ScheduledPost
from bot.views import NETWORK_LABELS

DUE = "calendar_due"
RESUME = "calendar_resume"
REVIEW = "calendar_review"
# The one live job that drafts the recurring series a week ahead, every day (its kind and key).
SERIES_DRAFT = "calendar_series_draft"
CONFIG_ACTOR = Actor("config", "crier.yml")
TEXT_MAX = CALENDAR_TEXT_MAX


class CalendarState:
    PENDING = "pending"  # waiting for an approver
    REJECTED = "rejected"
    SCHEDULED = "scheduled"  # approved: goes out at its time
    HELD = "held"
    PUBLISHED = "published"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CalendarEntry:
    id: int
    text: str
    channels: tuple[str, ...]
    due_at: datetime
    state: str
    held_by: int | None
    created_by: str = ""
    decided_by: str | None = None
    decided_at: datetime | None = None
    series: str | None = None  # the recurring series it was drafted for, if any
    batch: int | None = None  # the batch of that series' posts it is approved with
    held_by_maintenance: int | None = None  # the maintenance under way that holds it

    @property
    def held_until(self) -> str:
        """What holds it and until when: "incident #4 until its all-clear"."""
        if self.held_by_maintenance is not None:
            return f"maintenance #{self.held_by_maintenance} until it is complete"
        return f"incident #{self.held_by} until its all-clear"

    @property
    def channel_labels(self) -> str:
        """Its channels as people name them: "X, Mastodon"."""
        labels = {network.value: label for network, label in NETWORK_LABELS.items()}
        return ", ".join(labels.get(channel, channel) for channel in self.channels)

    @property
    def outcome(self) -> str:
        """What became of it once approved, as every chat says it after "Approved by …"."""
        return {
            CalendarState.SCHEDULED: "it goes out at its time (held while an incident is open)",
            CalendarState.HELD: f"⏸️ held by {self.held_until}",
            CalendarState.PUBLISHED: "📤 published",
        }.get(self.state, f"⏭️ {self.state}")


@dataclass(frozen=True)
class CalendarBatch:
    """Posts of the recurring series drafted together, shown to the approvers as one message:
    each with *Approve* and *Skip*, and *Approve all* for those still ``waiting``."""

    id: int
    entries: tuple[CalendarEntry, ...]  # in the order they go out

    @property
    def waiting(self) -> tuple[CalendarEntry, ...]:
        """Its posts still waiting for an approver."""
        return tuple(e for e in self.entries if e.state == CalendarState.PENDING)


def entry(post: ScheduledPost) -> CalendarEntry:
    same = {field.name: getattr(post, field.name) for field in fields(CalendarEntry)}
    return CalendarEntry(**{**same, "id": post.id or 0, "channels": tuple(post.channels)})


def _row(session: Session, scheduled_post_id: int) -> ScheduledPost:
    post = session.get(ScheduledPost, scheduled_post_id)
    if post is None:
        raise NotFound(f"Scheduled post #{scheduled_post_id} does not exist.")
    return post


def get(session: Session, scheduled_post_id: int) -> CalendarEntry:
    return entry(_row(session, scheduled_post_id))


def add(
    session: Session,
    *,
    config: CrierConfig,
    text: str,
    channels: tuple[Network, ...],
    due_at: datetime,
    actor: Actor,
    now: datetime,
    where: str | None = None,
) -> CalendarEntry:
    """Propose a post for ``due_at``: it waits for an approver (``approve``), who is shown it in
    chat (``where``: the chat channel it was proposed from, for its author's platform).

    Only crier.yml's entries (``actor`` is ``CONFIG_ACTOR``) are scheduled at once."""
    text = clean_text(text, field_name="text", limit=TEXT_MAX, required=True)
    channels = check_channels(config, channels)
    refused = [c.value for c in channels if c in NOT_FOR_CALENDAR]
    if refused:
        raise InvalidInput(
            f"The content calendar does not post to {', '.join(refused)}.",
            {"channels": "A status page is for incidents only."},
        )
    if due_at.tzinfo is None:
        raise InvalidInput("Give the time with its zone.", {"due_at": "Time zone missing."})
    if due_at <= now:
        raise InvalidInput("That time has passed.", {"due_at": "Pick a later time."})
    from_config = actor == CONFIG_ACTOR
    if not from_config and (problems := rule_problems(config, text, channels)):
        said = "; ".join(problem.rstrip(".") for problem in problems)
        raise InvalidInput(f"This post cannot go out as written: {said}.", {"text": said})
    post = ScheduledPost(
        text=text,
        channels=[c.value for c in channels],
        due_at=due_at,
        state=CalendarState.SCHEDULED if from_config else CalendarState.PENDING,
        created_by=actor.key,
        decided_by=actor.key if from_config else None,
        decided_at=now if from_config else None,
    )
    session.add(post)
    session.flush()
    if from_config:
        _schedule_due(session, post)
    else:
        payload = {"scheduled_post_id": post.id, "where": where or None}
        jobs.schedule(session, kind=REVIEW, key=f"{REVIEW}:{post.id}", due_at=now, payload=payload)
    audit.record(
        session,
        actor=actor,
        action="calendar_add",
        at=now,
        detail={"scheduled_post_id": post.id, "due_at": due_at.isoformat(), "state": post.state},
    )
    return entry(post)


def rule_problems(config: CrierConfig, text: str, channels: tuple[Network, ...]) -> list[str]:
    """What stops ``text`` going out as written on each channel: a rule of that network (its
    length as it counts it, Bluesky's bytes, Instagram's hashtags) or a live mention the channel
    blocks. A calendar post is a person's own words, never shortened, so it is refused when
    proposed rather than approved and then refused by the network at its time."""
    found: list[str] = []
    for network in channels:
        check = measure(config, network, text, draft=False)
        _, blocked = mention_notes(config, network, text)
        found += [f"{NETWORK_LABELS[network]}: {p}" for p in (check.problem, blocked) if p]
    return found


def _schedule_due(session: Session, post: ScheduledPost) -> None:
    jobs.schedule(
        session,
        kind=DUE,
        key=f"calendar:{post.id}",
        due_at=post.due_at,
        payload={"scheduled_post_id": post.id},
    )


def decide(
    session: Session,
    *,
    config: CrierConfig,
    scheduled_post_id: int,
    approved: bool,
    actor: Actor,
    now: datetime,
) -> CalendarEntry:
    """An approver schedules a pending post (it goes out at its time, or is held then), or
    turns it down (it never goes out); of two simultaneous decisions, one changes the row."""
    post = _row(session, scheduled_post_id)
    if post.state != CalendarState.PENDING:
        by = f" by {post.decided_by}" if post.decided_by else ""
        said = {CalendarState.SCHEDULED: "approved", CalendarState.HELD: "approved and held"}
        word = said.get(post.state, post.state)
        raise Conflict(f"Scheduled post #{post.id} was already {word}{by}.")
    if approved and post.due_at <= now:
        when = format_time(post.due_at, config.organisation.zone)
        raise Conflict(
            f"Scheduled post #{post.id} was due at {when}, before anyone approved it. "
            "Propose it again with a later time."
        )
    to = CalendarState.SCHEDULED if approved else CalendarState.REJECTED
    if not _claim(session, post, to=to, actor=actor, now=now):
        raise Conflict("Someone else decided on this scheduled post a moment ago.")
    return entry(post)


def _claim(
    session: Session,
    post: ScheduledPost,
    *,
    to: str,
    actor: Actor,
    now: datetime,
    was: str = CalendarState.PENDING,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Move ``post`` from ``was`` to ``to`` (audited; scheduled: its time's job written), unless
    someone else moved it first: of two simultaneous decisions, one changes the row."""
    claimed = session.execute(
        update(ScheduledPost)
        .where(col(ScheduledPost.id) == post.id, col(ScheduledPost.state) == was)
        .values(state=to, decided_by=actor.key, decided_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(post)
    said = {CalendarState.SCHEDULED: "calendar_approve", CalendarState.REJECTED: "calendar_reject"}
    audit.record(
        session,
        actor=actor,
        action=said.get(to, f"calendar_{to}"),
        at=now,
        detail={"scheduled_post_id": post.id, "author": post.created_by, **(detail or {})},
    )
    if to == CalendarState.SCHEDULED:
        _schedule_due(session, post)
    elif was == CalendarState.SCHEDULED:
        jobs.cancel(session, now=now, key=f"calendar:{post.id}")
    return True


def batch(session: Session, batch_id: int) -> CalendarBatch:
    rows = session.exec(
        select(ScheduledPost)
        .where(ScheduledPost.batch == batch_id)
        .order_by(col(ScheduledPost.due_at), col(ScheduledPost.id))
    ).all()
    if not rows:
        raise NotFound(f"Batch #{batch_id} of the content calendar does not exist.")
    return CalendarBatch(id=batch_id, entries=tuple(entry(row) for row in rows))


def approve_batch(session: Session, *, batch_id: int, actor: Actor, now: datetime) -> CalendarBatch:
    """*Approve all*: schedule every post of the batch still waiting for an approver and not yet
    past its time (one past it stays unapproved: it never goes out), in one transaction."""
    waiting = [
        row
        for row in session.exec(select(ScheduledPost).where(ScheduledPost.batch == batch_id))
        if row.state == CalendarState.PENDING and row.due_at > now
    ]
    if not waiting:
        batch(session, batch_id)  # NotFound if there is no such batch
        raise Conflict(f"No post of batch #{batch_id} is waiting for an approver any more.")
    approved = [
        post
        for post in waiting
        if _claim(
            session,
            post,
            to=CalendarState.SCHEDULED,
            actor=actor,
            now=now,
            detail={"batch": batch_id},
        )
    ]
    if not approved:
        raise Conflict("Someone else decided on these scheduled posts a moment ago.")
    return batch(session, batch_id)


def skip(session: Session, *, scheduled_post_id: int, actor: Actor, now: datetime) -> CalendarEntry:
    """*Skip*: a post waiting for an approver, or approved and not yet due, never goes out. (A
    held one is skipped at the all-clear, by ``resume``.)"""
    post = _row(session, scheduled_post_id)
    if post.state not in (CalendarState.PENDING, CalendarState.SCHEDULED):
        raise Conflict(f"Scheduled post #{post.id} was already {post.state}.")
    if not _claim(session, post, to=CalendarState.SKIPPED, actor=actor, now=now, was=post.state):
        raise Conflict("Someone else decided on this scheduled post a moment ago.")
    return entry(post)


def sync_from_config(session: Session, *, config: CrierConfig, now: datetime) -> int:
    """Schedule crier.yml's calendar entries that are still ahead and not yet scheduled, and
    start drafting its recurring series (or stop, when it has none); how many were added."""
    ensure_series_drafting(session, config=config, now=now)
    added = 0
    for item in config.calendar:
        due = item.at if item.at.tzinfo else item.at.replace(tzinfo=config.organisation.zone)
        if due <= now:
            continue
        if not entries(session, ScheduledPost.text == item.text, ScheduledPost.due_at == due):
            add(
                session,
                config=config,
                text=item.text,
                channels=tuple(item.channels),
                due_at=due,
                actor=CONFIG_ACTOR,
                now=now,
            )
            added += 1
    return added


def ensure_series_drafting(session: Session, *, config: CrierConfig, now: datetime) -> None:
    """Draft crier.yml's recurring series now (a changed crier.yml is drafted at the start-up
    that reads it), then daily (the job moves itself on); cancel the job if there are none."""
    if not config.calendar_series:
        jobs.cancel(session, now=now, key=SERIES_DRAFT)
        return
    job = session.exec(select(Job).where(Job.key == SERIES_DRAFT)).first()
    if job is None or job.done_at is not None or job.due_at > now:
        # A job due already is left alone: it may be running in another process right now.
        jobs.schedule(session, kind=SERIES_DRAFT, key=SERIES_DRAFT, due_at=now, found=job)


def entries(session: Session, *where: Any, limit: int | None = None) -> list[CalendarEntry]:
    query = select(ScheduledPost).where(*where).order_by(col(ScheduledPost.due_at)).limit(limit)
    return [entry(row) for row in session.exec(query).all()]


def upcoming(session: Session, *, now: datetime, limit: int = 50) -> list[CalendarEntry]:
    """What is waiting for an approver (and not yet past its time), scheduled, or held."""
    state = col(ScheduledPost.state)
    waiting = and_(state == CalendarState.PENDING, col(ScheduledPost.due_at) > now)
    ahead = state.in_([CalendarState.SCHEDULED, CalendarState.HELD])
    return entries(session, or_(ahead, waiting), limit=limit)


def release(session: Session, *, post: ScheduledPost, now: datetime) -> None:
    """Write the post's deliveries: the publisher sends them, once each."""
    for channel in post.channels:
        key = hashlib.sha256(f"crier:calendar:{post.id}:{channel}".encode()).hexdigest()[:40]
        session.add(
            Delivery(
                scheduled_post_id=post.id,
                channel=channel,
                state=DeliveryState.QUEUED,
                next_attempt_at=now,
                idempotency_key=key,
                created_at=now,
            )
        )
    post.state = CalendarState.PUBLISHED
    post.published_at = now
    post.held_by = post.held_by_maintenance = None
