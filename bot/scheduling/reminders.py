"""When Crier reminds people, decided inside the use cases' transactions.

Drafting schedules the approval reminder; approval cancels it and schedules the promised
update's reminder, the all-clear question and the stale-incident check; the all-clear schedules
the post-incident review. What each reminder says when it fires is in
``bot.scheduling.reminder_jobs``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.config import CrierConfig, SeverityPolicy
from bot.errors import Conflict, NotFound
from bot.ports import Actor
from bot.scheduling.jobs import CANCELLED, cancel, schedule
from bot.storage import audit
from bot.storage.models import Incident, IncidentStatus, Job, Post, PostKind

APPROVAL = "remind_approval"
NEXT_UPDATE = "remind_next_update"
ALL_CLEAR = "remind_all_clear"
STALE = "remind_stale"
REVIEW = "remind_review"
EMERGENCY = "remind_emergency"
SNOOZABLE = (NEXT_UPDATE, ALL_CLEAR, STALE, APPROVAL)
# How a reminder ended when what it asked for no longer matters (bot.scheduling.reminder_jobs),
# said to whoever clicks its Snooze after that.
SETTLED = {
    "decided": "the draft it was about has been decided.",
    "incident closed": "the incident is closed.",
    "a newer post went out": "a newer public post went out since.",
    CANCELLED: "what it was about has been done.",
}
MAX_SNOOZE_MINUTES = 24 * 60


def policy(config: CrierConfig, incident: Incident) -> SeverityPolicy:
    return config.severities[incident.severity]  # type: ignore[index]


def on_draft(
    session: Session, *, config: CrierConfig, incident: Incident, post: Post, now: datetime
) -> None:
    """A draft waits for approval: remind the approvers if it waits too long."""
    wait = timedelta(minutes=policy(config, incident).approval_wait_minutes)
    schedule(
        session,
        kind=APPROVAL,
        key=f"approval:{post.id}",
        due_at=now + wait,
        payload={"post_id": post.id},
        incident_id=incident.id,
    )


def on_decided(session: Session, *, post: Post, now: datetime) -> None:
    cancel(session, now=now, key=f"approval:{post.id}")


def on_approved(
    session: Session, *, config: CrierConfig, incident: Incident, post: Post, now: datetime
) -> None:
    """A post went public: what it promised, and what comes next, each get a reminder."""
    on_decided(session, post=post, now=now)
    incident_id = incident.id or 0
    if post.kind == PostKind.RESOLUTION:
        cancel(session, now=now, incident_id=incident_id, kinds=(NEXT_UPDATE, ALL_CLEAR, STALE))
        schedule(
            session,
            kind=REVIEW,
            key=f"review:{incident_id}",
            due_at=next_working_morning(now, config),
            incident_id=incident_id,
        )
        return
    rules = policy(config, incident)
    minutes = post.facts.get("next_update_minutes")
    if minutes:
        promised = now + timedelta(minutes=int(minutes))
        warning = max(
            now, promised - timedelta(minutes=config.reminders.warn_minutes_before_update)
        )
        schedule(
            session,
            kind=NEXT_UPDATE,
            key=f"next_update:{incident_id}",
            due_at=warning,
            payload={"post_id": post.id, "promised_at": promised.isoformat(), "stage": "warning"},
            incident_id=incident_id,
        )
    else:
        cancel(session, now=now, key=f"next_update:{incident_id}")
    if post.status == IncidentStatus.MONITORING:
        schedule(
            session,
            kind=ALL_CLEAR,
            key=f"all_clear:{incident_id}",
            due_at=now + timedelta(minutes=rules.all_clear_after_minutes),
            payload={"post_id": post.id},
            incident_id=incident_id,
        )
    else:
        cancel(session, now=now, key=f"all_clear:{incident_id}")
    schedule(
        session,
        kind=STALE,
        key=f"stale:{incident_id}",
        due_at=now + timedelta(minutes=rules.stale_after_minutes),
        payload={"post_id": post.id},
        incident_id=incident_id,
    )


def on_emergency(session: Session, *, incident: Incident, post: Post, now: datetime) -> None:
    """A post published by the emergency rule: the thread is told at once, approvers called."""
    schedule(
        session,
        kind=EMERGENCY,
        key=f"emergency:{post.id}",
        due_at=now,
        payload={"post_id": post.id, "by": post.decided_by},
        incident_id=incident.id,
    )


def on_closed(session: Session, *, incident: Incident, now: datetime) -> None:
    """Closed without a public post: nothing is promised, nothing to review."""
    cancel(session, now=now, incident_id=incident.id, kinds=SNOOZABLE)


def next_working_morning(now: datetime, config: CrierConfig) -> datetime:
    """``review_hour`` o'clock on the next working day in the organisation's zone: never the
    day of the all-clear itself, so the people who worked the night get their sleep."""
    zone = config.organisation.zone
    day = now.astimezone(zone).date()
    for _ in range(15):
        day += timedelta(days=1)
        if day.weekday() in config.reminders.working_days:
            at = datetime(day.year, day.month, day.day, config.reminders.review_hour, tzinfo=zone)
            return at.astimezone(now.tzinfo)
    raise AssertionError("working_days is never empty")  # validated in RemindersConfig


def snooze(session: Session, *, job_id: int, minutes: int, actor: Actor, now: datetime) -> Job:
    """Move a reminder ``minutes`` ahead (fired or not): it comes back then."""
    job = session.get(Job, job_id)
    if job is None or job.kind not in SNOOZABLE:
        raise NotFound("That reminder no longer exists.")
    ended = (job.outcome or "").split(" (")[0]  # without " (12 min late)"
    settled = SETTLED.get(ended) if job.done_at is not None else None
    incident = session.get(Incident, job.incident_id) if job.incident_id else None
    if incident is not None and incident.resolved_at is not None:
        settled = SETTLED["incident closed"]  # whatever the reminder said then, it is moot
    if settled is not None:
        raise Conflict(f"Nothing to snooze: {settled}")
    minutes = max(1, min(minutes, MAX_SNOOZE_MINUTES))
    job.due_at = now + timedelta(minutes=minutes)
    job.done_at = job.claimed_by = job.claimed_until = job.outcome = None
    session.add(job)
    audit.record(
        session,
        actor=actor,
        action="snooze",
        incident_id=job.incident_id,
        at=now,
        detail={"reminder": job.kind, "minutes": minutes},
    )
    return job
