"""Due jobs: rows with a due time, claimed with a lease, run once whichever replica takes them.

On PostgreSQL due jobs are claimed with ``FOR UPDATE SKIP LOCKED``, so two replicas never take
the same row; on SQLite one process runs them (the write lock serialises claims). A job that came
due while Crier was down fires once when it is back, and knows how late it is. The rows are
written by ``bot.scheduling.jobs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import socket
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, func, or_, update
from sqlmodel import Session, col, select

from bot.ports import Clock
from bot.scheduling.jobs import AGAIN, Again, JobHandler, JobRun
from bot.storage.models import Job
from bot.storage.store import Store

log = logging.getLogger(__name__)

MAX_FAILURES = 5
AT_ONCE = 8  # jobs of different incidents run side by side; one incident's, one after another
SHORTEST_NAP = 0.05  # seconds


class LostClaim(Exception):
    """The job is no longer this worker's (its lease ran out and another took it, or it was
    done meanwhile): the transaction that would have finished it must not commit."""


def _host() -> str:
    return socket.gethostname()[:56]  # a claim (host:pid#n) fits claimed_by's 80 characters


def default_worker_id() -> str:
    return f"{_host()}:{os.getpid()}"


def dead_here(claim: str) -> bool:
    """Whether ``claim`` was made by a process of this machine that is no longer running."""
    host, _, pid = claim.partition("#")[0].rpartition(":")
    if host != _host() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def dead_claims(session: Session, claimed_by: Any, *unfinished: ColumnElement[bool]) -> list[str]:
    """The claims in the ``claimed_by`` column, of rows still ``unfinished``, made by a process
    of this machine that is gone (killed)."""
    query = select(claimed_by).where(*unfinished, col(claimed_by).is_not(None)).distinct()
    return [claim for claim in session.exec(query).all() if claim and dead_here(claim)]


def _unfinished(claims: list[str]) -> Update:
    """The jobs of these claims that are not done yet."""
    return update(Job).where(col(Job.claimed_by).in_(claims), col(Job.done_at).is_(None))


@dataclass(kw_only=True, eq=False)
class Scheduler:
    """Runs the jobs of ``handlers``' kinds: each as soon as it is due, up to ``at_once`` side by
    side, one incident's in order within this process. A slow job never holds up the others:
    a slot it frees is taken again at once. Leases of jobs still running are renewed, so a
    lease can be short and work left by a killed process is taken again soon."""

    store: Store
    clock: Clock
    handlers: Mapping[str, JobHandler]
    worker_id: str = field(default_factory=default_worker_id)
    lease: timedelta = timedelta(minutes=5)
    batch_size: int = 200
    at_once: int = AT_ONCE
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _claims: Iterator[int] = field(default_factory=lambda: itertools.count(1), init=False)
    _running: dict[str, asyncio.Task[None]] = field(default_factory=dict, init=False)  # by claim
    # One lock per incident with jobs here, gone once nobody holds or waits for it.
    _incident_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary, init=False
    )

    def add_handler(self, kind: str, handler: JobHandler) -> None:
        """Run jobs of ``kind`` too (a chat side adds its own kinds as it is built)."""
        self.handlers = {**self.handlers, kind: handler}

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self, stop: asyncio.Event, *, poll_seconds: float = 1.0) -> None:
        """Run jobs until ``stop``: each at its due time, at once when woken, and at least every
        ``poll_seconds`` (another process may have scheduled one sooner). At a stop the jobs
        under way finish; what was not started stays in the table for the next start."""
        await self.store.run(self._release_the_dead)
        renewing = asyncio.create_task(self._renew_leases(stop))
        stopping = asyncio.create_task(stop.wait())
        stopping.add_done_callback(lambda _: self.wake())  # a stop ends the nap
        try:
            while not stop.is_set():
                self._wake.clear()
                nap = poll_seconds
                try:
                    started = await self._start_due()
                    if started and len(self._running) < self.at_once:
                        continue  # there may be more due than one claim took
                    nap = await self._seconds_to_next(poll_seconds)
                except Exception:
                    log.exception("scheduler pass failed; trying again shortly")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=nap)
        finally:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
            renewing.cancel()
            stopping.cancel()

    async def _start_due(self) -> int:
        free = self.at_once - len(self._running)
        if free <= 0:
            return 0
        runs = await self.store.run(lambda s: self._claim(s, limit=free))
        for run in runs:
            task = asyncio.create_task(self._in_order(run))
            self._running[run.claim] = task
            task.add_done_callback(functools.partial(self._ended, run.claim))
        return len(runs)

    def _ended(self, claim: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(claim, None)
        self._wake.set()  # a slot is free

    async def _in_order(self, run: JobRun) -> None:
        if run.incident_id is None:
            await self._run(run)
            return
        async with self._incident_locks.setdefault(run.incident_id, asyncio.Lock()):
            await self._run(run)

    async def _renew_leases(self, stop: asyncio.Event) -> None:
        every = max(self.lease.total_seconds() / 3, SHORTEST_NAP)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
            claims = list(self._running)
            if not claims:
                continue
            try:
                await self.store.run(functools.partial(self._renew, claims=claims))
            except Exception:
                log.exception("could not renew the leases of running jobs")

    def _renew(self, session: Session, claims: list[str]) -> None:
        session.execute(_unfinished(claims).values(claimed_until=self.clock.now() + self.lease))

    def _release_the_dead(self, session: Session) -> None:
        """Jobs claimed by a process of this machine that is gone (killed): free them now
        rather than when their lease runs out."""
        dead = dead_claims(session, Job.claimed_by, col(Job.done_at).is_(None))
        if not dead:
            return
        result = session.execute(_unfinished(dead).values(claimed_by=None, claimed_until=None))
        count = int(result.rowcount)  # type: ignore[attr-defined]
        gone = sorted({claim.partition("#")[0] for claim in dead})
        log.info("took back %d job(s) left by stopped process(es) %s", count, ", ".join(gone))

    async def _seconds_to_next(self, longest: float) -> float:
        now = self.clock.now()
        due = select(func.min(Job.due_at)).where(*self._live, col(Job.claimed_until).is_(None))
        lapsing = select(func.min(Job.claimed_until)).where(*self._live)
        times = await self.store.read(lambda s: (s.exec(due).one(), s.exec(lapsing).one()))
        when = min((t for t in times if t is not None), default=None)
        if when is None:
            return longest
        if when.tzinfo is None:  # SQLite hands back naive UTC
            when = when.replace(tzinfo=now.tzinfo)
        return max(min(longest, (when - now).total_seconds()), SHORTEST_NAP)

    async def run_once(self) -> int:
        """Claim what is due and run it to the end; returns how many jobs ran. (The test's and
        the sandbox's tick; a running process uses ``run_forever``.)"""
        runs = await self.store.run(lambda s: self._claim(s, limit=self.batch_size))
        await asyncio.gather(*(self._in_order(run) for run in runs))
        return len(runs)

    async def drain(self) -> None:
        """Until nothing of these kinds is due, claimed or running: run what is due here, and
        wait for what this process's loop runs. (Tests and the sandbox; a stop does not wait,
        since what is left stays in the table.)"""
        while not await self.idle():
            if await self.run_once():
                continue
            if self._running:
                await asyncio.wait(list(self._running.values()))
            else:  # claimed by another process: look again shortly
                await asyncio.sleep(SHORTEST_NAP)

    async def idle(self) -> bool:
        """Whether no job of these kinds is due, claimed or running (tests wait for it)."""
        if self._running:
            return False
        now = self.clock.now()
        due_or_claimed = or_(col(Job.due_at) <= now, col(Job.claimed_until).is_not(None))
        pending = select(Job.id).where(*self._live, due_or_claimed).limit(1)
        return await self.store.read(lambda s: s.exec(pending).first() is None)

    @property
    def _live(self) -> tuple[ColumnElement[bool], ...]:
        """Jobs of these kinds not done yet."""
        return col(Job.done_at).is_(None), col(Job.kind).in_(list(self.handlers))

    def _claim(self, session: Session, *, limit: int) -> list[JobRun]:
        now = self.clock.now()
        query = (
            select(Job)
            .where(
                *self._live,
                col(Job.due_at) <= now,
                or_(col(Job.claimed_until).is_(None), col(Job.claimed_until) < now),
            )
            .order_by(col(Job.due_at), col(Job.id))
            .limit(limit)
        )
        if self.store.is_postgres:
            query = query.with_for_update(skip_locked=True)
        runs = []
        for job in session.exec(query).all():
            job.claimed_by = claim = f"{self.worker_id}#{next(self._claims)}"
            job.claimed_until = now + self.lease
            if AGAIN in job.payload:  # this firing reads what changed: it shows it
                job.payload = {k: v for k, v in job.payload.items() if k != AGAIN}
            same = job.model_dump(include={"id", "kind", "key", "due_at", "payload", "incident_id"})
            runs.append(JobRun(**same, fired_at=now, claim=claim))
        session.flush()
        return runs

    async def _run(self, run: JobRun) -> None:
        result: Again | str | Exception | None
        try:
            result = await self.handlers[run.kind](run)  # claimed: one of these kinds
        except LostClaim:
            log.info("job %s (%s) was taken over or done elsewhere", run.id, run.kind)
            return
        except Exception as exc:
            log.exception("job %s (%s) failed", run.id, run.kind)
            result = exc
        await self.store.run(lambda s: self._finish(s, run, result))

    def _unclaim(self, session: Session, run: JobRun) -> Job | None:
        """The job, its claim by this firing cleared; None if that claim is no longer on it."""
        # Locked: a change that asks for this job again (AGAIN) waits, or is seen.
        job = session.exec(select(Job).where(Job.id == run.id).with_for_update()).first()
        # Done already (by the handler's own transaction), or claimed since by another firing
        # (our lease ran out) or rescheduled meanwhile (the claim was cleared): leave it be.
        if job is None or job.done_at is not None or job.claimed_by != run.claim:
            return None
        job.claimed_by = job.claimed_until = None
        return job

    def finish_in(self, session: Session, run: JobRun, outcome: str = "done") -> None:
        """Mark the job done in the caller's transaction, so the work and its being done commit
        together: a kill before the commit leaves both undone, to be run again whole. Raises
        LostClaim (the caller's transaction rolls back) if the job is no longer ours."""
        job = self._unclaim(session, run)
        if job is None:
            raise LostClaim(f"job {run.id}")
        job.done_at = self.clock.now()
        job.outcome = outcome[:200]

    def _finish(
        self, session: Session, run: JobRun, result: Again | str | Exception | None
    ) -> None:
        job = self._unclaim(session, run)
        if job is None:
            return
        if isinstance(result, Exception):  # again a little later each time, up to MAX_FAILURES
            failures = int(job.payload.get("_failures", 0)) + 1
            job.payload = {**job.payload, "_failures": failures}
            if failures < MAX_FAILURES:
                job.due_at = self.clock.now() + timedelta(minutes=failures)
                return
            job.done_at = self.clock.now()
            job.outcome = f"failed: {type(result).__name__}"[:200]
            return
        if isinstance(result, Again):
            job.due_at = result.at
            job.payload = {**job.payload, **result.payload, "_failures": 0}
            return
        if job.payload.get(AGAIN):  # what it did is out of date already: once more, now
            job.due_at = self.clock.now()
            job.payload = {k: v for k, v in job.payload.items() if k != AGAIN}
            return
        job.done_at = self.clock.now()
        minutes = int(run.late_by.total_seconds() // 60)
        late = f" ({minutes} min late)" if run.late_by > timedelta(minutes=1) else ""
        job.outcome = ((result or "fired") + late)[:200]
