"""The job table's rows: what to run, when, and once. Writing them is part of the transaction
that decides on them (a reminder scheduled with the draft it is about, work queued with the
request that asked for it); ``bot.scheduling.scheduler`` runs them.

    schedule(session, kind="remind_approval", key="approval:12", due_at=now + timedelta(minutes=10))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from bot.storage.models import Job

CANCELLED = "cancelled"
# What ``schedule`` writes when it moves an existing job (all of it: see there).
REWRITTEN = (
    *("kind", "due_at", "payload", "incident_id"),
    *("done_at", "claimed_by", "claimed_until", "outcome"),
)
AGAIN = "_again"  # in a claimed job's payload: what it shows changed while it ran; run it again


@dataclass(frozen=True)
class JobRun:
    """One firing of a job, as its handler sees it."""

    id: int
    kind: str
    key: str | None
    due_at: datetime
    payload: dict[str, Any]
    incident_id: int | None
    fired_at: datetime
    claim: str = ""  # this firing's own mark in ``claimed_by``: a later claim is another firing

    @property
    def late_by(self) -> timedelta:
        return max(self.fired_at - self.due_at, timedelta(0))


@dataclass(frozen=True)
class Again:
    """A handler's answer: run me again at ``at`` (with the payload changed by ``payload``)."""

    at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


JobHandler = Callable[[JobRun], Awaitable[Again | str | None]]  # str: the outcome to record


def schedule(
    session: Session,
    *,
    kind: str,
    due_at: datetime,
    key: str | None = None,
    payload: dict[str, Any] | None = None,
    incident_id: int | None = None,
    found: Job | None = None,
) -> Job:
    """Add a job, or move the one with the same key, live or done (a key is one live job);
    ``found``: that row, when the caller has looked it up already."""
    job = found or (session.exec(select(Job).where(Job.key == key)).first() if key else None)
    if job is None:
        job = Job(kind=kind, key=key, due_at=due_at, payload=payload or {}, incident_id=incident_id)
    else:
        job.kind, job.due_at, job.payload = kind, due_at, payload or {}
        job.incident_id = incident_id
        job.done_at = job.claimed_by = job.claimed_until = job.outcome = None
        # Every column written, whatever this session read of it: a firing of this job may
        # have finished since the read (marked it done and committed), and an UPDATE of only
        # the columns that changed in the stale view would leave that ``done_at`` standing —
        # the job moved, but done, and never run (a token reminder was lost so).
        for column in REWRITTEN:
            flag_modified(job, column)
    session.add(job)
    session.flush()
    return job


def cancel(
    session: Session,
    *,
    now: datetime,
    key: str | None = None,
    incident_id: int | None = None,
    kinds: tuple[str, ...] = (),
) -> None:
    """Mark live jobs done without running them."""
    query = update(Job).where(col(Job.done_at).is_(None))
    if key is not None:
        query = query.where(col(Job.key) == key)
    if incident_id is not None:
        query = query.where(col(Job.incident_id) == incident_id)
    if kinds:
        query = query.where(col(Job.kind).in_(kinds))
    session.execute(query.values(done_at=now, outcome=CANCELLED))


def enqueue(
    session: Session,
    *,
    kind: str,
    now: datetime,
    payload: dict[str, Any],
    key: str | None = None,
    incident_id: int | None = None,
) -> bool:
    """Add a piece of work due at once; False if a row with ``key`` exists already (a request
    delivered twice: its work was queued by the first delivery, and is done or under way)."""
    if key is not None and session.exec(select(Job.id).where(Job.key == key)).first() is not None:
        return False
    job = Job(kind=kind, key=key, due_at=now, payload=payload, incident_id=incident_id)
    try:
        with session.begin_nested():  # two replicas given the same request: one row wins
            session.add(job)
    except IntegrityError:
        return False
    return True
