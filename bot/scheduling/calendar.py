"""The content calendar and the crisis pause.

Scheduled posts (weekly tips, tutorials, the odd joke) go out at their time through the same
publishers as incident posts — unless an incident is open: then they are held, the incident's
thread says so, and the all-clear offers to post each one now or skip it.

A calendar post is a draft like any other: it is proposed ``pending`` and shown to the approvers
(the ``calendar_review`` job); only an approver who is not its author schedules it. crier.yml's
entries count as approved: the config is reviewed like code. Who may decide is checked by the
core (``ContentCalendar``, through ``bot.incidents.approvers.Gate``) before these functions run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, update
from sqlmodel import Session, col, select

from bot.config import CrierConfig, Network
from bot.drafting.mentions import mention_notes
from bot.drafting.post_times import format_time
from bot.drafting.textrules import measure
from bot.errors import Conflict, InvalidInput, NotFound
from bot.incidents.requests import check_channels, clean_text
from bot.ports import Actor
from bot.scheduling import jobs
from bot.storage import audit
from bot.storage.models import Delivery, DeliveryState, Incident, ScheduledPost
from bot.views import NETWORK_LABELS

DUE = "calendar_due"
RESUME = "calendar_resume"
REVIEW = "calendar_review"
CONFIG_ACTOR = Actor("config", "crier.yml")
TEXT_MAX = 3000
# A status page (Statuspage, or Crier's own site) is for incidents, not tips.
NOT_FOR_CALENDAR = (Network.STATUSPAGE, Network.SITE)


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
            CalendarState.HELD: f"⏸️ held by incident #{self.held_by} until its all-clear",
            CalendarState.PUBLISHED: "📤 published",
        }.get(self.state, f"⏭️ {self.state}")


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
    if not from_config and (problems := _rule_problems(config, text, channels)):
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


def _rule_problems(config: CrierConfig, text: str, channels: tuple[Network, ...]) -> list[str]:
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
    claimed = session.execute(
        update(ScheduledPost)
        .where(
            col(ScheduledPost.id) == scheduled_post_id,
            col(ScheduledPost.state) == CalendarState.PENDING,
        )
        .values(state=to, decided_by=actor.key, decided_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("Someone else decided on this scheduled post a moment ago.")
    session.refresh(post)
    audit.record(
        session,
        actor=actor,
        action="calendar_approve" if approved else "calendar_reject",
        at=now,
        detail={"scheduled_post_id": post.id, "author": post.created_by},
    )
    if approved:
        _schedule_due(session, post)
    return entry(post)


def sync_from_config(session: Session, *, config: CrierConfig, now: datetime) -> int:
    """Schedule crier.yml's calendar entries that are still ahead and not yet scheduled."""
    added = 0
    for item in config.calendar:
        due = item.at if item.at.tzinfo else item.at.replace(tzinfo=config.organisation.zone)
        if due <= now:
            continue
        if not _entries(session, ScheduledPost.text == item.text, ScheduledPost.due_at == due):
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


def _entries(session: Session, *where: Any, limit: int | None = None) -> list[CalendarEntry]:
    query = select(ScheduledPost).where(*where).order_by(col(ScheduledPost.due_at)).limit(limit)
    return [entry(row) for row in session.exec(query).all()]


def upcoming(session: Session, *, now: datetime, limit: int = 50) -> list[CalendarEntry]:
    """What is waiting for an approver (and not yet past its time), scheduled, or held."""
    state = col(ScheduledPost.state)
    waiting = and_(state == CalendarState.PENDING, col(ScheduledPost.due_at) > now)
    ahead = state.in_([CalendarState.SCHEDULED, CalendarState.HELD])
    return _entries(session, or_(ahead, waiting), limit=limit)


def open_incident_id(session: Session, *, besides: int | None = None) -> int | None:
    return session.exec(
        select(Incident.id)
        .where(col(Incident.resolved_at).is_(None), Incident.id != besides)
        .order_by(col(Incident.declared_at))
    ).first()


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
    post.held_by = None


def hold_or_release(
    session: Session, *, scheduled_post_id: int, now: datetime
) -> tuple[str, CalendarEntry | None]:
    """At the post's time: ``("held", entry)`` while an incident is open, else publish."""
    post = session.get(ScheduledPost, scheduled_post_id)
    if post is None or post.state != CalendarState.SCHEDULED:
        return "gone", None
    incident_id = open_incident_id(session)
    if incident_id is not None:
        post.state = CalendarState.HELD
        post.held_by = incident_id
    else:
        release(session, post=post, now=now)
    outcome = "published" if incident_id is None else "held"
    audit.record(
        session,
        actor=audit.SYSTEM_ACTOR,
        action=f"calendar_{outcome}",
        incident_id=incident_id,
        at=now,
        detail={"scheduled_post_id": post.id},
    )
    return outcome, entry(post)


def _held_by(incident_id: int | None) -> tuple[ColumnElement[bool], ...]:
    return col(ScheduledPost.state) == CalendarState.HELD, col(ScheduledPost.held_by) == incident_id


def held_for(session: Session, *, incident_id: int) -> list[CalendarEntry]:
    return _entries(session, *_held_by(incident_id))


def on_resolved(session: Session, *, incident: Incident, now: datetime) -> None:
    """The all-clear: offer the posts this incident held (if no other incident still holds)."""
    other = open_incident_id(session, besides=incident.id)
    if other is not None:  # still in a crisis: the next all-clear offers them
        session.execute(update(ScheduledPost).where(*_held_by(incident.id)).values(held_by=other))
        return
    if held_for(session, incident_id=incident.id or 0):
        key = f"{RESUME}:{incident.id}"
        jobs.schedule(session, kind=RESUME, key=key, due_at=now, incident_id=incident.id)


def resume(
    session: Session, *, scheduled_post_id: int, publish: bool, actor: Actor, now: datetime
) -> CalendarEntry:
    """After the all-clear, a person posts a held post now, or skips it."""
    post = session.get(ScheduledPost, scheduled_post_id)
    if post is None:
        raise NotFound("That scheduled post no longer exists.")
    if post.state != CalendarState.HELD:
        raise Conflict(f"That scheduled post is already {post.state}.")
    if publish and open_incident_id(session) is not None:
        raise Conflict("An incident is open again; the post stays held until its all-clear.")
    if publish:
        release(session, post=post, now=now)
    else:
        post.state = CalendarState.SKIPPED
        post.held_by = None
    audit.record(
        session,
        actor=actor,
        action="calendar_resume",
        at=now,
        detail={"scheduled_post_id": post.id, "published": publish},
    )
    return entry(post)
