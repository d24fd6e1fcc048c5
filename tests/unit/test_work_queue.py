"""The job table as Crier's one queue: a slow job holds up no other, work that writes is done
exactly once, a request queued twice is one row, and a killed process's jobs come back."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.scheduling.jobs import JobRun, enqueue, schedule
from bot.scheduling.scheduler import MAX_FAILURES, Scheduler
from bot.scheduling.work import SHOW_POST, show_post_later
from bot.storage.models import AuditEvent, Incident, Job
from bot.storage.store import Store
from tests.clock import FakeClock


def queue(
    store: Store, clock: FakeClock, kind: str, n: int, *, incident: int | None = None
) -> None:
    with store.transaction() as session:
        for i in range(n):
            enqueue(session, kind=kind, now=clock.now(), payload={"n": i}, incident_id=incident)


def jobs(store: Store) -> list[Job]:
    with store.transaction() as session:
        return list(session.exec(select(Job).order_by(Job.id)).all())


async def test_a_slow_job_holds_up_no_other(store: Store) -> None:
    clock = FakeClock()
    release, started, done = asyncio.Event(), asyncio.Event(), []

    async def slow(run: JobRun) -> str:
        started.set()
        await release.wait()
        return "slow done"

    async def quick(run: JobRun) -> str:
        done.append(run.payload["n"])
        if len(done) == 5:
            release.set()  # only now may the slow one finish
        return "quick done"

    runner = Scheduler(store=store, clock=clock, handlers={"slow": slow, "quick": quick}, at_once=2)
    queue(store, clock, "slow", 1)
    stop = asyncio.Event()
    loop = asyncio.create_task(runner.run_forever(stop))
    await started.wait()
    queue(store, clock, "quick", 5)  # queued while the slow one holds one of the two slots
    runner.wake()
    await asyncio.wait_for(release.wait(), timeout=10)
    await runner.drain()
    stop.set()
    await loop
    assert sorted(done) == [0, 1, 2, 3, 4]
    assert [j.outcome for j in jobs(store)] == ["slow done"] + ["quick done"] * 5


async def test_one_incidents_jobs_run_in_order_in_a_process(store: Store) -> None:
    clock = FakeClock()
    seen: list[int] = []

    async def step(run: JobRun) -> None:
        seen.append(run.payload["n"])
        await asyncio.sleep(0)  # let the others try to overtake

    runner = Scheduler(store=store, clock=clock, handlers={"step": step}, at_once=8)
    with store.transaction() as session:
        incident = Incident(
            service="VPN", summary="down", severity="sev2", status="investigating", declared_by="t"
        )
        session.add(incident)
        session.flush()
        incident_id = incident.id
    queue(store, clock, "step", 6, incident=incident_id)
    await runner.run_once()
    assert seen == [0, 1, 2, 3, 4, 5]


async def test_work_done_in_its_own_transaction_is_done_once(store: Store) -> None:
    """``finish_in``: the work and its being done commit together; a worker whose lease was
    taken over cannot commit the same work again."""
    clock = FakeClock()
    written: list[str] = []

    def handler_for(
        runner_name: str, runners: dict[str, Scheduler]
    ) -> Callable[[JobRun], Awaitable[None]]:
        async def work(run: JobRun) -> None:
            def write(session: Session) -> None:
                written.append(runner_name)
                session.add(AuditEvent(actor=runner_name, action="wrote", detail={}))
                runners[runner_name].finish_in(session, run, "written")

            await store.run(write)

        return work

    runners: dict[str, Scheduler] = {}
    lease = timedelta(seconds=30)
    for name in ("first", "second"):
        runners[name] = Scheduler(
            store=store,
            clock=clock,
            handlers={"write": handler_for(name, runners)},
            worker_id=name,
            lease=lease,
        )
    queue(store, clock, "write", 1)
    with store.transaction() as session:
        [run] = runners["first"]._claim(session, limit=10)
    clock.advance(seconds=31)  # the first worker stalls past its lease; the second takes over
    assert await runners["second"].run_once() == 1
    await runners["first"]._run(run)  # the first wakes up and tries to finish: refused
    assert written == ["second", "first"]  # it tried...
    [job] = jobs(store)
    assert job.outcome == "written" and job.claimed_by is None
    with store.transaction() as session:  # ...but only the second's write committed
        assert [e.actor for e in session.exec(select(AuditEvent)).all()] == ["second"]


def test_a_request_queued_twice_is_one_row(store: Store) -> None:
    clock = FakeClock()
    with store.transaction() as session:
        first = enqueue(session, kind="declare", key="trigger:1.2.3", now=clock.now(), payload={})
    with store.transaction() as session:
        again = enqueue(session, kind="declare", key="trigger:1.2.3", now=clock.now(), payload={})
    assert (first, again) == (True, False)
    assert len(jobs(store)) == 1


@pytest.fixture
def gone_process() -> str:
    """The worker id of a process of this machine that has ended."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{socket.gethostname()}:{ended.stdout.strip()}"


async def test_jobs_of_a_killed_process_on_this_machine_are_taken_back_at_start(
    store: Store, gone_process: str
) -> None:
    clock = FakeClock()
    gone = gone_process
    queue(store, clock, "work", 1)
    with store.transaction() as session:
        job = session.exec(select(Job)).one()
        job.claimed_by, job.claimed_until = gone, clock.now() + timedelta(hours=1)
    ran: list[int] = []

    async def work(run: JobRun) -> None:
        ran.append(run.id)

    runner = Scheduler(store=store, clock=clock, handlers={"work": work})
    stop = asyncio.Event()
    loop = asyncio.create_task(runner.run_forever(stop))
    await runner.drain()  # long before the hour-long lease runs out
    stop.set()
    await loop
    assert ran == [job.id]


async def test_a_change_while_a_refresh_runs_is_shown_after_it_never_beside_it(
    store: Store,
) -> None:
    """A refresh under way may have read the thing before a change: the change marks it to
    run again when it ends. Never a second refresh beside it, whose newer picture the older
    one could overwrite; and the clock standing still changes nothing (a claim is a firing)."""
    clock = FakeClock()  # frozen: the second firing is due at the very same instant
    reading, release = asyncio.Event(), asyncio.Event()
    shown: list[int] = []
    version = 1
    at_once = 0

    async def show(run: JobRun) -> str:
        nonlocal at_once
        at_once += 1
        assert at_once == 1, "two refreshes of one thing side by side"
        seen = version
        reading.set()
        await release.wait()
        shown.append(seen)
        at_once -= 1
        return "shown"

    runner = Scheduler(
        store=store, clock=clock, handlers={SHOW_POST: show}, at_once=4, worker_id="here:1"
    )
    with store.transaction() as session:
        show_post_later(session, 7, now=clock.now())
    stop = asyncio.Event()
    loop = asyncio.create_task(runner.run_forever(stop))
    await reading.wait()  # the first firing has read version 1
    version = 2
    with store.transaction() as session:
        show_post_later(session, 7, now=clock.now())  # changed while it runs
        show_post_later(session, 7, now=clock.now())  # and again: still one more firing
    assert await runner.run_once() == 0  # nothing to take while the first one runs
    release.set()
    await runner.drain()
    stop.set()
    await loop
    assert shown == [1, 2]  # the last picture is the newest
    [job] = jobs(store)
    assert job.done_at is not None and job.claimed_by is None and "_again" not in job.payload


async def test_a_firing_that_was_moved_meanwhile_does_not_finish_the_next(store: Store) -> None:
    """A job rescheduled while it ran is fired again; the first firing ending later must not
    mark the second one done (with the clock standing still, both are due at one instant)."""
    clock = FakeClock()
    gates = {1: asyncio.Event(), 2: asyncio.Event()}
    started = {1: asyncio.Event(), 2: asyncio.Event()}

    async def remind(run: JobRun) -> str:
        firing = 2 if started[1].is_set() else 1
        started[firing].set()
        await gates[firing].wait()
        return f"firing {firing}"

    runner = Scheduler(store=store, clock=clock, handlers={"remind": remind})
    with store.transaction() as session:
        schedule(session, kind="remind", key="r", due_at=clock.now())
    first = asyncio.create_task(runner.run_once())
    await started[1].wait()
    with store.transaction() as session:
        schedule(session, kind="remind", key="r", due_at=clock.now())  # moved while it ran
    second = asyncio.create_task(runner.run_once())
    await started[2].wait()
    gates[1].set()
    await first
    assert jobs(store)[0].done_at is None  # the second firing is still under way
    gates[2].set()
    await second
    [job] = jobs(store)
    assert job.outcome == "firing 2" and job.claimed_by is None


async def test_a_failing_job_is_tried_again_later_each_time_then_given_up(store: Store) -> None:
    clock = FakeClock()
    tries: list[int] = []

    async def broken(run: JobRun) -> str:
        tries.append(run.id)
        raise ValueError("the network answered nonsense")

    runner = Scheduler(store=store, clock=clock, handlers={"broken": broken})
    queue(store, clock, "broken", 1)
    assert await runner.run_once() == 1
    for minutes in range(1, MAX_FAILURES):
        [job] = jobs(store)
        assert job.done_at is None and job.claimed_by is None
        assert job.due_at == clock.now() + timedelta(minutes=minutes)  # a minute more each time
        clock.advance(minutes=minutes, seconds=-1)
        assert await runner.run_once() == 0  # not yet due
        clock.advance(seconds=1)
        assert await runner.run_once() == 1
    [job] = jobs(store)
    assert len(tries) == MAX_FAILURES
    assert job.done_at == clock.now() and job.outcome == "failed: ValueError"
    clock.advance(hours=1)
    assert await runner.run_once() == 0  # given up: never tried again
