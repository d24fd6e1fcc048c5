"""When Crier reminds people, decided inside the use cases' transactions.

Drafting schedules the approval reminder; approval cancels it and schedules the promised
update's reminder, the all-clear question and the stale-incident check; the all-clear schedules
the post-incident review. What each reminder says when it fires is in
``bot.scheduling.reminder_jobs``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

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


def _key(kind: str, about: int | None) -> str:
    """One live reminder of a kind per draft or incident: "approval:12", "stale:3"."""
    return f"{kind.removeprefix('remind_')}:{about}"


def _remind(
    session: Session,
    kind: str,
    incident_id: int | None,
    about: int | None = None,
    *,
    due_at: datetime,
    **payload: object,
) -> None:
    """Schedule, or move, the incident's reminder of ``kind`` (one per draft: ``about``)."""
    key = _key(kind, about or incident_id)
    schedule(session, kind=kind, key=key, due_at=due_at, payload=payload, incident_id=incident_id)


def on_draft(
    session: Session, *, config: CrierConfig, incident: Incident, post: Post, now: datetime
) -> None:
    """A draft waits for approval: remind the approvers if it waits too long."""
    due_at = now + timedelta(minutes=policy(config, incident).approval_wait_minutes)
    _remind(session, APPROVAL, incident.id, post.id, due_at=due_at, post_id=post.id)


def on_decided(session: Session, *, post: Post, now: datetime) -> None:
    cancel(session, now=now, key=_key(APPROVAL, post.id))


def on_approved(
    session: Session, *, config: CrierConfig, incident: Incident, post: Post, now: datetime
) -> None:
    """A post went public: what it promised, and what comes next, each get a reminder."""
    on_decided(session, post=post, now=now)
    incident_id = incident.id or 0
    # What the previous post asked for is moot; what this one asks for is scheduled again.
    cancel(session, now=now, incident_id=incident_id, kinds=(NEXT_UPDATE, ALL_CLEAR, STALE))
    if post.kind == PostKind.RESOLUTION:
        _remind(session, REVIEW, incident_id, due_at=next_working_morning(now, config))
        return
    rules = policy(config, incident)
    minutes = post.facts.get("next_update_minutes")
    if minutes:
        promised = now + timedelta(minutes=int(minutes))
        ahead = timedelta(minutes=config.reminders.warn_minutes_before_update)
        _remind(
            session,
            NEXT_UPDATE,
            incident_id,
            due_at=max(now, promised - ahead),
            post_id=post.id,
            promised_at=promised.isoformat(),
            stage="warning",
        )
    if post.status == IncidentStatus.MONITORING:
        at = now + timedelta(minutes=rules.all_clear_after_minutes)
        _remind(session, ALL_CLEAR, incident_id, due_at=at, post_id=post.id)
    at = now + timedelta(minutes=rules.stale_after_minutes)
    _remind(session, STALE, incident_id, due_at=at, post_id=post.id)


def on_emergency(session: Session, *, incident: Incident, post: Post, now: datetime) -> None:
    """A post published by the emergency rule: the thread is told at once, approvers called."""
    _remind(
        session, EMERGENCY, incident.id, post.id, due_at=now, post_id=post.id, by=post.decided_by
    )


def on_closed(session: Session, *, incident: Incident, now: datetime) -> None:
    """Closed without a public post: nothing is promised, nothing to review."""
    cancel(session, now=now, incident_id=incident.id, kinds=SNOOZABLE)


def next_working_morning(now: datetime, config: CrierConfig) -> datetime:
    """``review_hour`` o'clock on the next working day in the organisation's zone: never the
    day of the all-clear itself, so the people who worked the night get their sleep."""
    zone = config.organisation.zone
    today = now.astimezone(zone).date()
    days = (today + timedelta(days=n) for n in range(1, 8))
    # working_days is never empty: validated in RemindersConfig.
    day = next(day for day in days if day.weekday() in config.reminders.working_days)
    at = datetime.combine(day, time(config.reminders.review_hour), tzinfo=zone)
    return at.astimezone(now.tzinfo)


def snooze_choice(value: str) -> tuple[int, int]:
    """A *Snooze* button's value (``job:minutes``, as ``reminder_jobs`` writes it) read back;
    a garbled one names no reminder, so it is refused as gone."""
    job, _, minutes = value.partition(":")
    return _number(job, 0), _number(minutes, 15)


def _number(text: str, otherwise: int) -> int:
    # Nine digits at most: a forged value must not overflow the database's integer column.
    fits = text.isascii() and text.isdigit() and len(text) <= 9
    return int(text) if fits else otherwise


def snooze(session: Session, *, job_id: int, minutes: int, actor: Actor, now: datetime) -> int:
    """Move a reminder ``minutes`` ahead (fired or not): it comes back then. The minutes it
    was really moved (a day at the most), for the answer to say."""
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
    audit.record(
        session,
        actor=actor,
        action="snooze",
        incident_id=job.incident_id,
        at=now,
        detail={"reminder": job.kind, "minutes": minutes},
    )
    return minutes
