"""Due jobs: rows with a due time, claimed with a lease, run once whichever replica takes them.

On PostgreSQL due jobs are claimed with ``FOR UPDATE SKIP LOCKED``, so two replicas never take
the same row; on SQLite one process runs them (the write lock serialises claims). A job that came
due while Crier was down fires once when it is back, and knows how late it is.

    schedule(session, kind="remind_approval", key="approval:12", due_at=now + timedelta(minutes=10))
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from bot.models import Job
from bot.ports import Clock
from bot.store import Lane, Store

log = logging.getLogger(__name__)

CANCELLED = "cancelled"
MAX_FAILURES = 5
AT_ONCE = 8  # jobs of different incidents run side by side; one incident's, one after another
SHORTEST_NAP = 0.05  # seconds
BG = Lane.BACKGROUND


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
) -> Job:
    """Add a job, or move the live one with the same key (a key is one live job)."""
    job = session.exec(select(Job).where(Job.key == key)).first() if key else None
    if job is None:
        job = Job(kind=kind, key=key, due_at=due_at, payload=payload or {}, incident_id=incident_id)
    else:
        job.kind, job.due_at, job.payload = kind, due_at, payload or {}
        job.incident_id = incident_id
        job.done_at = job.claimed_by = job.claimed_until = job.outcome = None
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
) -> int:
    """Mark live jobs done without running them; returns how many."""
    query = update(Job).where(col(Job.done_at).is_(None))
    if key is not None:
        query = query.where(col(Job.key) == key)
    if incident_id is not None:
        query = query.where(col(Job.incident_id) == incident_id)
    if kinds:
        query = query.where(col(Job.kind).in_(kinds))
    result = session.execute(query.values(done_at=now, outcome=CANCELLED))
    return int(result.rowcount)  # type: ignore[attr-defined]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Scheduler:
    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        handlers: Mapping[str, JobHandler],
        worker_id: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 200,
    ) -> None:
        self._store = store
        self._clock = clock
        self._handlers = handlers
        self.worker_id = worker_id or default_worker_id()
        self._lease = lease
        self._batch_size = batch_size
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self, stop: asyncio.Event, *, poll_seconds: float = 1.0) -> None:
        """Run jobs until ``stop``: each at its due time, at once when woken, and at least every
        ``poll_seconds`` (another process may have scheduled one sooner)."""
        while not stop.is_set():
            self._wake.clear()
            nap = poll_seconds
            try:
                while await self.run_once() >= self._batch_size:
                    pass  # a backlog (after downtime): keep going before sleeping
                nap = await self._seconds_to_next(poll_seconds)
            except Exception:
                log.exception("scheduler pass failed; trying again shortly")
            if self._wake.is_set() or stop.is_set():
                continue
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=nap, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def _seconds_to_next(self, longest: float) -> float:
        now = self._clock.now()

        def soonest(session: Session) -> datetime | None:
            due = session.exec(
                select(func.min(Job.due_at)).where(
                    col(Job.done_at).is_(None), col(Job.claimed_until).is_(None)
                )
            ).one()
            lapsing = session.exec(
                select(func.min(Job.claimed_until)).where(col(Job.done_at).is_(None))
            ).one()
            return min((t for t in (due, lapsing) if t is not None), default=None)

        when = await self._store.read(soonest, lane=BG)
        if when is None:
            return longest
        if when.tzinfo is None:  # SQLite hands back naive UTC
            when = when.replace(tzinfo=now.tzinfo)
        return max(min(longest, (when - now).total_seconds()), SHORTEST_NAP)

    async def run_once(self) -> int:
        """Claim what is due and run it; returns how many jobs ran."""
        runs = await self._store.run(self._claim, lane=BG)
        by_incident: dict[int | None, list[JobRun]] = {}
        for run in runs:
            by_incident.setdefault(run.incident_id, []).append(run)
        limit = asyncio.Semaphore(AT_ONCE)

        async def in_order(group: list[JobRun]) -> None:
            async with limit:
                for run in group:
                    await self._run(run)

        await asyncio.gather(*(in_order(group) for group in by_incident.values()))
        return len(runs)

    def _claim(self, session: Session) -> list[JobRun]:
        now = self._clock.now()
        query = (
            select(Job)
            .where(
                col(Job.done_at).is_(None),
                col(Job.due_at) <= now,
                or_(col(Job.claimed_until).is_(None), col(Job.claimed_until) < now),
            )
            .order_by(col(Job.due_at))
            .limit(self._batch_size)
        )
        if self._store.is_postgres:
            query = query.with_for_update(skip_locked=True)
        runs = []
        for job in session.exec(query).all():
            job.claimed_by = self.worker_id
            job.claimed_until = now + self._lease
            runs.append(
                JobRun(
                    id=job.id or 0,
                    kind=job.kind,
                    key=job.key,
                    due_at=job.due_at,
                    payload=dict(job.payload),
                    incident_id=job.incident_id,
                    fired_at=now,
                )
            )
        session.flush()
        return runs

    async def _run(self, run: JobRun) -> None:
        handler = self._handlers.get(run.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {run.kind!r}")
            result = await handler(run)
        except Exception as exc:
            log.exception("job %s (%s) failed", run.id, run.kind)
            error = exc
            await self._store.run(lambda s: self._failed(s, run, error), lane=BG)
            return
        await self._store.run(lambda s: self._finish(s, run, result), lane=BG)

    def _mine(self, session: Session, run: JobRun) -> Job | None:
        job = session.get(Job, run.id)
        # Someone else's lease (ours ran out) or a reschedule in the meantime: leave it be.
        if job is None or job.claimed_by != self.worker_id or job.due_at != run.due_at:
            return None
        return job

    def _finish(self, session: Session, run: JobRun, result: Again | str | None) -> None:
        job = self._mine(session, run)
        if job is None:
            return
        job.claimed_by = job.claimed_until = None
        if isinstance(result, Again):
            job.due_at = result.at
            job.payload = {**job.payload, **result.payload, "_failures": 0}
            return
        job.done_at = self._clock.now()
        late = (
            f" ({int(run.late_by.total_seconds() // 60)} min late)"
            if run.late_by > timedelta(minutes=1)
            else ""
        )
        job.outcome = ((result or "fired") + late)[:200]

    def _failed(self, session: Session, run: JobRun, error: Exception) -> None:
        job = self._mine(session, run)
        if job is None:
            return
        failures = int(job.payload.get("_failures", 0)) + 1
        job.payload = {**job.payload, "_failures": failures}
        job.claimed_by = job.claimed_until = None
        now = self._clock.now()
        if failures >= MAX_FAILURES:
            job.done_at = now
            job.outcome = f"failed: {type(error).__name__}"[:200]
        else:
            job.due_at = now + timedelta(minutes=failures)
