"""Scheduler at scale: 10,000 open incidents with their reminders (about 30,000 job rows).

The incidents are a sample made by Crier's core (declare → approve → publish), copied in bulk
(``bench.incident_rows``). The scheduler is Crier's ``Scheduler`` with Crier's own reminder
handlers (``ReminderJobs``): each reads the incident again, records a missed promise, and
"notifies" by reading the incident as a chat message would show it — no chat is involved.

- *idle pass*: ``Scheduler.run_once()`` with nothing due (what every poll costs);
- *pass*: ``run_once()`` with N jobs due (a third next-update warnings, a third overdue
  updates, a third stale-incident checks);
- *due → fired*: ``run_forever`` (as ``crier serve`` runs it) while M jobs come due spread over
  T seconds; the delay from each job's due time to its handler starting, p50 and p99.

Each figure is also measured with 100 incidents, in the same run: the ratio shows what scale costs.

    python -m bench.scheduler [--quick] [--incidents 10000] [--due 100] [--jobs 100]
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from bench.crier_setup import bench_config
from bench.databases import migrated_store, throwaway_database
from bench.figures import (
    backends_argument,
    base_parser,
    chosen_backends,
    median,
    percentile,
    quiet_logs,
    ratio,
)
from bench.incident_rows import open_incidents, table_sizes
from bot.core import Core, build_core
from bot.scheduling.jobs import Again, JobHandler, JobRun
from bot.scheduling.reminder_jobs import ReminderJobs
from bot.scheduling.reminders import NEXT_UPDATE, STALE
from bot.scheduling.scheduler import Scheduler
from bot.settings import Settings
from bot.storage.models import Job
from bot.views import Reminder

BASELINE_INCIDENTS = 100


@dataclass(frozen=True)
class ScaleFigures:
    incidents: int
    job_rows: int
    live_jobs: int
    setup_seconds: float
    idle_pass: float  # median seconds
    due: int
    pass_seconds: float  # median seconds for a pass with ``due`` jobs
    fired: int
    expected: int
    fired_twice: int
    delay_p50: float
    delay_p99: float


class FiringLog:
    """Wraps handlers to note when each job starts, against its due time."""

    def __init__(self) -> None:
        self.delays: dict[int, list[float]] = {}
        self.waiting_for: set[int] = set()
        self.all_fired = asyncio.Event()

    def expect(self, job_ids: list[int]) -> None:
        self.delays.clear()
        self.waiting_for = set(job_ids)
        self.all_fired.clear()

    def wrap(self, handler: JobHandler) -> JobHandler:
        async def timed(run: JobRun) -> Again | str | None:
            started = datetime.now(UTC)
            self.delays.setdefault(run.id, []).append((started - run.due_at).total_seconds())
            self.waiting_for.discard(run.id)
            if not self.waiting_for:
                self.all_fired.set()
            return await handler(run)

        return timed


def reminder_scheduler(core: Core, log: FiringLog) -> Scheduler:
    """Crier's scheduler with Crier's reminder handlers; a reminder is read, never sent."""

    async def notify(incident_id: int, reminder: Reminder) -> None:
        await core.incident(incident_id)  # what a presenter reads to show the reminder

    jobs = ReminderJobs(store=core.store, config=core.config, clock=core.clock, notify=notify)
    handlers = {kind: log.wrap(handler) for kind, handler in jobs.handlers().items()}
    return Scheduler(store=core.store, clock=core.clock, handlers=handlers)


def _live_reminders(session: Session, *, after: datetime) -> list[Job]:
    return list(
        session.exec(
            select(Job).where(
                col(Job.done_at).is_(None),
                col(Job.kind).in_([NEXT_UPDATE, STALE]),
                col(Job.due_at) > after,
            )
        ).all()
    )


def _make_due(session: Session, job_ids: list[int], due_at: Callable[[int], datetime]) -> None:
    """Bring jobs due at the given times; next-update ones alternate warning and overdue."""
    for index, job_id in enumerate(job_ids):
        job = session.get(Job, job_id)
        assert job is not None
        job.due_at = due_at(index)
        if job.kind == NEXT_UPDATE:
            overdue = index % 2 == 1
            promised = job.due_at + timedelta(minutes=-1 if overdue else 5)
            job.payload = {
                **job.payload,
                "stage": "overdue" if overdue else "warning",
                "promised_at": promised.isoformat(),
            }
        session.add(job)


def _always(at: datetime) -> Callable[[int], datetime]:
    return lambda _job_id: at


def _revive(session: Session, job_ids: list[int], *, due_at: datetime) -> None:
    """Put jobs a pass finished back in the future, so the next pass finds as many to run."""
    for job_id in job_ids:
        job = session.get(Job, job_id)
        assert job is not None
        job.due_at, job.done_at, job.outcome = due_at, None, None
        job.claimed_by = job.claimed_until = None
        session.add(job)


async def _pick(core: Core, count: int, rng: random.Random, *, kinds_mixed: bool) -> list[int]:
    now = datetime.now(UTC)
    live = await core.store.run(lambda s: _live_reminders(s, after=now + timedelta(minutes=2)))
    if not kinds_mixed:
        return [j.id or 0 for j in rng.sample(live, min(count, len(live)))]
    updates = [j.id or 0 for j in live if j.kind == NEXT_UPDATE]
    stale = [j.id or 0 for j in live if j.kind == STALE]
    from_updates = min(len(updates), count - count // 3)
    return rng.sample(updates, from_updates) + rng.sample(stale, min(len(stale), count // 3))


async def timed_passes(
    core: Core, scheduler: Scheduler, *, due: int, repeats: int, rng: random.Random
) -> tuple[float, float]:
    """(median idle pass, median pass with ``due`` jobs due), in seconds."""
    idle = []
    for _ in range(max(5, repeats)):
        started = time.perf_counter()
        ran = await scheduler.run_once()
        idle.append(time.perf_counter() - started)
        assert ran == 0, f"{ran} jobs were due in an idle pass"
    busy = []
    for _ in range(repeats):
        ids = await _pick(core, due, rng, kinds_mixed=True)
        past = datetime.now(UTC) - timedelta(seconds=1)
        await core.store.run(functools.partial(_make_due, job_ids=ids, due_at=_always(past)))
        started = time.perf_counter()
        ran = await scheduler.run_once()
        busy.append(time.perf_counter() - started)
        assert ran == len(ids), f"a pass ran {ran} of {len(ids)} due jobs"
        later = datetime.now(UTC) + timedelta(hours=1)
        await core.store.run(functools.partial(_revive, job_ids=ids, due_at=later))
    return median(idle), median(busy)


async def firing_delays(
    core: Core,
    scheduler: Scheduler,
    log: FiringLog,
    *,
    jobs: int,
    spread: float,
    rng: random.Random,
) -> tuple[list[float], int, int]:
    """Run the scheduler's loop while ``jobs`` come due over ``spread`` seconds.

    Returns (first-firing delays, how many fired, how many fired more than once)."""
    ids = await _pick(core, jobs, rng, kinds_mixed=True)
    start = datetime.now(UTC) + timedelta(seconds=1)
    offsets = sorted(rng.uniform(0, spread) for _ in ids)
    await core.store.run(
        lambda s: _make_due(s, ids, lambda i: start + timedelta(seconds=offsets[i]))
    )
    log.expect(ids)
    stop = asyncio.Event()
    loop = asyncio.create_task(scheduler.run_forever(stop))
    with contextlib.suppress(TimeoutError):  # reported as fewer fired than expected
        await asyncio.wait_for(log.all_fired.wait(), timeout=1 + spread + 30)
    await asyncio.sleep(1.0)  # a job fired twice would show by now
    stop.set()
    await loop
    delays = [log.delays[i][0] for i in ids if i in log.delays]
    twice = sum(len(log.delays[i]) > 1 for i in ids if i in log.delays)
    return delays, len(delays), twice


async def measure_scale(
    *, backend: str, incidents: int, due: int, repeats: int, jobs: int, spread: float
) -> ScaleFigures:
    with (
        tempfile.TemporaryDirectory(prefix="crier-scheduler-") as folder,
        throwaway_database(backend, folder=Path(folder)) as url,
    ):
        store = migrated_store(url)
        core = build_core(settings=Settings(database_url=url), config=bench_config(), store=store)
        try:
            began = time.monotonic()
            await open_incidents(core, incidents)
            setup = time.monotonic() - began
            sizes = await store.run(table_sizes)
            live = await store.run(
                lambda s: len(s.exec(select(Job.id).where(col(Job.done_at).is_(None))).all())
            )
            log = FiringLog()
            scheduler = reminder_scheduler(core, log)
            rng = random.Random(incidents)
            idle, busy = await timed_passes(core, scheduler, due=due, repeats=repeats, rng=rng)
            delays, fired, twice = await firing_delays(
                core, scheduler, log, jobs=jobs, spread=spread, rng=rng
            )
            return ScaleFigures(
                incidents=incidents,
                job_rows=sizes["job"],
                live_jobs=live,
                setup_seconds=setup,
                idle_pass=idle,
                due=due,
                pass_seconds=busy,
                fired=fired,
                expected=jobs,
                fired_twice=twice,
                delay_p50=percentile(delays, 50),
                delay_p99=percentile(delays, 99),
            )
        finally:
            await core.close()
            store.dispose()


def report(backend: str, scales: list[ScaleFigures], *, jobs: int, spread: float) -> None:
    print(
        f"scheduler: {backend}; a pass = Scheduler.run_once with Crier's reminder handlers "
        f"(reads, no chat); due -> fired: {jobs} jobs due over {spread:g} s, run_forever"
    )
    print(
        f"  {'incidents':>9} {'job rows':>9} {'live jobs':>9} {'idle pass':>10} "
        f"{'pass (due)':>16} {'due->fired p50':>15} {'p99':>7} {'fired':>9}"
    )
    for f in scales:
        print(
            f"  {f.incidents:>9,} {f.job_rows:>9,} {f.live_jobs:>9,} {f.idle_pass * 1000:>7.1f} ms "
            f"{f.pass_seconds * 1000:>8.0f} ms ({f.due:>3}) {f.delay_p50:>13.2f} s "
            f"{f.delay_p99:>5.2f} s {f.fired:>4}/{f.expected:<4}"
            + (f" ({f.fired_twice} twice!)" if f.fired_twice else "")
        )
    base, big = scales[0], scales[-1]
    print(
        f"ratio {big.incidents:,} / {base.incidents:,} incidents: idle pass "
        f"{ratio(big.idle_pass, base.idle_pass):.2f}, pass with {big.due} due "
        f"{ratio(big.pass_seconds, base.pass_seconds):.2f}, due->fired p99 "
        f"{ratio(big.delay_p99, base.delay_p99):.2f}  "
        f"(building {big.incidents:,} incidents took {big.setup_seconds:.0f} s, not timed)"
    )


def main(argv: list[str] | None = None) -> dict[str, list[ScaleFigures]]:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "scheduler")
    parser.add_argument("--incidents", type=int, default=None, help="10000 (quick 2000)")
    parser.add_argument("--due", type=int, default=None, help="jobs due in a pass (100; quick 30)")
    parser.add_argument("--jobs", type=int, default=None, help="due -> fired jobs (100; quick 40)")
    parser.add_argument("--spread", type=float, default=None, help="seconds (20; quick 5)")
    backends_argument(parser)
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    incidents = args.incidents or (2_000 if args.quick else 10_000)
    due = args.due or (30 if args.quick else 100)
    jobs = args.jobs or (40 if args.quick else 100)
    spread = args.spread or (5.0 if args.quick else 20.0)
    repeats = 3 if args.quick else 5
    results: dict[str, list[ScaleFigures]] = {}
    for backend in chosen_backends(args):
        scales = []
        for count in (min(BASELINE_INCIDENTS, incidents), incidents):
            scales.append(
                asyncio.run(
                    measure_scale(
                        backend=backend,
                        incidents=count,
                        due=min(due, count),
                        repeats=repeats,
                        jobs=min(jobs, 2 * count),  # two live reminders each
                        spread=spread,
                    )
                )
            )
        report(backend, scales, jobs=jobs, spread=spread)
        results[backend] = scales
    return results


if __name__ == "__main__":
    main()
