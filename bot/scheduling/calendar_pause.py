"""The content calendar's pause: a scheduled post whose time comes while an incident is open is
held, not published (a cheerful tip beside "Wi-Fi is down" reads as not listening), and the
all-clear offers to post each held post now or skip it.

Planned maintenance pauses it too when crier.yml says so (``maintenance.pauses_calendar``; off
by default, as routine work is no crisis): a post due while a maintenance is under way is held
by it, and offered again once the work is complete or called off. An incident open at that
moment takes the held posts over, so that its all-clear offers them all at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, update
from sqlmodel import Session, col, select

from bot.errors import Conflict, NotFound
from bot.ports import Actor
from bot.scheduling import jobs
from bot.scheduling.calendar import RESUME, CalendarEntry, CalendarState, entries, entry, release
from bot.storage import audit
from bot.storage.models import Incident, Maintenance, MaintenanceState, ScheduledPost

# Held posts offered again in the comms channel, once a maintenance that held them is over.
RESUME_AFTER_MAINTENANCE = "calendar_resume_maintenance"


def open_incident_id(session: Session, *, besides: int | None = None) -> int | None:
    return session.exec(
        select(Incident.id)
        .where(col(Incident.resolved_at).is_(None), Incident.id != besides)
        .order_by(col(Incident.declared_at))
    ).first()


def maintenance_under_way(
    session: Session, *, now: datetime, besides: int | None = None
) -> int | None:
    """The maintenance whose work goes on now (begun, neither complete nor called off), if any:
    in progress, or scheduled with its window open (its start post may run a moment late)."""
    window_open = and_(
        col(Maintenance.state) == MaintenanceState.SCHEDULED,
        col(Maintenance.starts_at) <= now,
        col(Maintenance.ends_at) > now,
    )
    return session.exec(
        select(Maintenance.id)
        .where(
            or_(col(Maintenance.state) == MaintenanceState.IN_PROGRESS, window_open),
            Maintenance.id != besides,
        )
        .order_by(col(Maintenance.starts_at))
    ).first()


def hold_or_release(
    session: Session, *, scheduled_post_id: int, now: datetime, maintenance_pauses: bool = False
) -> tuple[str, CalendarEntry | None]:
    """At the post's time: ``("held", entry)`` while an incident is open (or, with
    ``maintenance_pauses``, a maintenance is under way), else publish."""
    post = session.get(ScheduledPost, scheduled_post_id)
    if post is None or post.state != CalendarState.SCHEDULED:
        return "gone", None
    incident_id = open_incident_id(session)
    maintenance_id = None
    if incident_id is None and maintenance_pauses:
        maintenance_id = maintenance_under_way(session, now=now)
    if incident_id is not None or maintenance_id is not None:
        post.state = CalendarState.HELD
        post.held_by, post.held_by_maintenance = incident_id, maintenance_id
        outcome = "held"
    else:
        release(session, post=post, now=now)
        outcome = "published"
    detail: dict[str, object] = {"scheduled_post_id": post.id}
    if maintenance_id is not None:
        detail["maintenance_id"] = maintenance_id
    audit.record(
        session,
        actor=audit.SYSTEM_ACTOR,
        action=f"calendar_{outcome}",
        incident_id=incident_id,
        at=now,
        detail=detail,
    )
    return outcome, entry(post)


def _held_by(incident_id: int | None) -> tuple[ColumnElement[bool], ...]:
    return col(ScheduledPost.state) == CalendarState.HELD, col(ScheduledPost.held_by) == incident_id


def _held_by_maintenance(maintenance_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        col(ScheduledPost.state) == CalendarState.HELD,
        col(ScheduledPost.held_by_maintenance) == maintenance_id,
    )


def held_for(session: Session, *, incident_id: int) -> list[CalendarEntry]:
    return entries(session, *_held_by(incident_id))


def held_for_maintenance(session: Session, *, maintenance_id: int) -> list[CalendarEntry]:
    return entries(session, *_held_by_maintenance(maintenance_id))


def on_resolved(session: Session, *, incident: Incident, now: datetime) -> None:
    """The all-clear: offer the posts this incident held (if no other incident still holds)."""
    other = open_incident_id(session, besides=incident.id)
    if other is not None:  # still in a crisis: the next all-clear offers them
        session.execute(update(ScheduledPost).where(*_held_by(incident.id)).values(held_by=other))
        return
    if held_for(session, incident_id=incident.id or 0):
        key = f"{RESUME}:{incident.id}"
        jobs.schedule(session, kind=RESUME, key=key, due_at=now, incident_id=incident.id)


def on_maintenance_over(session: Session, *, maintenance_id: int, now: datetime) -> None:
    """A maintenance is complete or called off: the posts it held are offered again, unless an
    incident is open (its all-clear offers them) or another maintenance is still under way."""
    held = _held_by_maintenance(maintenance_id)
    if (incident_id := open_incident_id(session)) is not None:
        handed = {"held_by": incident_id, "held_by_maintenance": None}
        session.execute(update(ScheduledPost).where(*held).values(**handed))
    elif (other := maintenance_under_way(session, now=now, besides=maintenance_id)) is not None:
        session.execute(update(ScheduledPost).where(*held).values(held_by_maintenance=other))
    elif held_for_maintenance(session, maintenance_id=maintenance_id):
        jobs.schedule(
            session,
            kind=RESUME_AFTER_MAINTENANCE,
            key=f"{RESUME_AFTER_MAINTENANCE}:{maintenance_id}",
            due_at=now,
            payload={"maintenance_id": maintenance_id},
        )


def resume(
    session: Session, *, scheduled_post_id: int, publish: bool, actor: Actor, now: datetime
) -> CalendarEntry:
    """After the all-clear (or the maintenance), a person posts a held post now, or skips it."""
    post = session.get(ScheduledPost, scheduled_post_id)
    if post is None:
        raise NotFound("That scheduled post no longer exists.")
    if post.state != CalendarState.HELD:
        raise Conflict(f"That scheduled post is already {post.state}.")
    if publish and open_incident_id(session) is not None:
        raise Conflict("An incident is open again; the post stays held until its all-clear.")
    if publish and post.held_by_maintenance is not None:
        holding = session.get(Maintenance, post.held_by_maintenance)
        if holding is not None and holding.state == MaintenanceState.IN_PROGRESS:
            raise Conflict(
                f"Maintenance #{holding.id} is still under way; the post stays held until it "
                "is complete."
            )
    if publish:
        release(session, post=post, now=now)
    else:
        post.state = CalendarState.SKIPPED
        post.held_by = post.held_by_maintenance = None
    audit.record(
        session,
        actor=actor,
        action="calendar_resume",
        at=now,
        detail={"scheduled_post_id": post.id, "published": publish},
    )
    return entry(post)
