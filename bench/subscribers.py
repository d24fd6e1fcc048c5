"""Email subscribers told of one post at the relay's rate, and across a kill -9 of the worker.

A throw-away database holds ``--subscribers`` confirmed email subscribers (most follow every
service, some only Blackboard, some only the VPN, so not all of them are told) and one
Blackboard post sent to the status site. ``crier worker`` runs in its own process with
``CRIER_SMTP_URL`` at an SMTP sink in this process (aiosmtpd on 127.0.0.1, port 0, which notes
each email's Message-ID and arrival time and answers 250), ``CRIER_SMTP_PER_SECOND`` = ``--rate``
and ``CRIER_SMTP_CONNECTIONS`` = ``--connections``. Once it says it is working, the post's
``notify_post`` row is queued as the publishing loop does (``bot.subscriptions.notify.
post_changed``): the worker fans it out to one ``notify`` row per follower and sends each email.

*clean*: one worker to the end. *kill*: the worker is SIGKILLed once half the emails arrived,
a fresh ``crier worker`` started on the same database, and the run waits for every email.
Theoretical time = emails expected ÷ rate; ratio = first email to last ÷ that (goal ≤ 1.1).
Lost = expected Message-IDs never received (must be 0); duplicates = emails received beyond one
per Message-ID: an email whose relay "250" came before the kill and whose row's commit did not
is sent again after the restart, with the same Message-ID (bot/subscriptions/notify.py), so the
kill run may show up to ``--connections`` of them. The relay's rate is checked at the sink: the
most emails that arrived in any 1-second window, against the rate.

    python -m bench.subscribers [--quick] [--subscribers 20000] [--rate 40] [--connections 4]
                                [--runs clean,kill] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, insert
from sqlmodel import col, select

from bench.crier_setup import write_bench_config
from bench.databases import migrated_store, throwaway_database
from bench.figures import (
    backends_argument,
    base_parser,
    busiest_window,
    chosen_backends,
    quiet_logs,
    ratio,
)
from bench.processes import ServerProcess, crier_command
from bench.servers import crier_env
from bot.storage.models import Job, Post, Subscriber, SubscriberKind
from bot.storage.store import Store
from bot.subscriptions.notify import NOTIFY, NOTIFY_POST, post_changed
from tests.unit.site_rows import add_site_post

GOAL = 1.1
RUNS = ("clean", "kill")
WORKING = re.compile(r"Crier worker \S+ is working")
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*<post-(\d+)\.sub-(\d+)@[^>]*>", re.I | re.M)
SITE_SECRET = "bench-site-secret-not-a-real-one-0123456789"
SERVICE_SLUG = "blackboard"  # the post's service (add_site_post's default, Blackboard)
SEED_CHUNK = 2000  # subscriber rows a bulk insert


def services_of(number: int) -> list[str]:
    """Whom subscriber ``number`` follows: most every service ([]), one in ten Blackboard
    alone, one in ten Blackboard and Email, one in ten the VPN alone (not told of the post)."""
    return {0: [SERVICE_SLUG], 1: ["email", SERVICE_SLUG], 2: ["vpn"]}.get(number % 10, [])


def told(services: Sequence[str]) -> bool:
    return not services or SERVICE_SLUG in services


# --- the relay ---------------------------------------------------------------------------------


@dataclass
class Sink:
    """aiosmtpd's handler: every email's (post, subscriber) from its Message-ID and its arrival
    (``time.time()``), kept light: the headers are searched, the message is not parsed."""

    arrivals: list[tuple[int, float]] = field(default_factory=list)  # (subscriber, at)
    unreadable: int = 0  # emails without a Message-ID of the notify form
    watch: Callable[[int], None] | None = None  # told the count after each email
    url: str = ""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        found = MESSAGE_ID.search(raw) if isinstance(raw, bytes) else None
        if found is None:
            self.unreadable += 1
        else:
            self.arrivals.append((int(found.group(2)), time.time()))
        if self.watch is not None:
            self.watch(len(self.arrivals))
        return "250 OK queued"

    def unique(self) -> set[int]:
        return {subscriber for subscriber, _ in self.arrivals}


@asynccontextmanager
async def smtp_sink() -> AsyncIterator[Sink]:
    sink = Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.bench", loop=loop), "127.0.0.1", 0
    )
    sink.url = f"smtp://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


class Counted:
    """Events set once the sink has received so many emails (duplicates included)."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._targets: list[tuple[int, asyncio.Event]] = []
        sink.watch = self._seen

    def at(self, count: int) -> asyncio.Event:
        event = asyncio.Event()
        self._targets.append((count, event))
        self._seen(len(self._sink.arrivals))
        return event

    def _seen(self, count: int) -> None:
        for target, event in self._targets:
            if count >= target:
                event.set()


# --- the database ------------------------------------------------------------------------------


def seed(store: Store, subscribers: int) -> tuple[int, set[int]]:
    """The subscribers and one Blackboard post sent to the site; the post's id and the ids of
    the subscribers who should be told of it."""
    at = datetime.now(UTC)
    with store.transaction() as session:
        incident_id = add_site_post(session, at=at, text="Students cannot sign in to Blackboard.")
        post_id = session.exec(select(Post.id).where(Post.incident_id == incident_id)).one()
        for start in range(0, subscribers, SEED_CHUNK):
            rows = [
                {
                    "kind": SubscriberKind.EMAIL.value,
                    "address": f"person{n}@example.edu",
                    "services": services_of(n),
                    "reference": {},
                    "confirmed_at": at,
                }
                for n in range(start, min(subscribers, start + SEED_CHUNK))
            ]
            session.execute(insert(Subscriber), rows)
    with store.transaction() as session:
        everyone = session.exec(select(Subscriber.id, Subscriber.services)).all()
    assert post_id is not None
    return post_id, {int(sub_id) for sub_id, services in everyone if sub_id and told(services)}


def queue_post(store: Store, post_id: int) -> float:
    """Queue telling the subscribers as the publishing loop does; when it was committed."""
    with store.transaction() as session:
        queued = post_changed(session, post_id, now=datetime.now(UTC))
    if not queued:
        raise RuntimeError(f"post {post_id} was not queued: is its site delivery sent?")
    return time.time()


def notify_outcomes(store: Store) -> tuple[dict[str, int], int]:
    """The notify rows by outcome (done ones), and how many are not done yet (the fan-out's
    included)."""
    with store.transaction() as session:
        # Left first: on PostgreSQL each statement sees the latest commits, so a row done
        # between the two is then counted among the done, never missed by both.
        left = session.exec(
            select(func.count()).where(
                col(Job.kind).in_([NOTIFY, NOTIFY_POST]), col(Job.done_at).is_(None)
            )
        ).one()
        done = session.exec(
            select(Job.outcome, func.count())
            .where(Job.kind == NOTIFY, col(Job.done_at).is_not(None))
            .group_by(Job.outcome)
        ).all()
    return {str(outcome): int(n) for outcome, n in done}, int(left)


# --- one run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFigures:
    run: str  # "clean" or "kill"
    subscribers: int
    expected: int
    rate: float
    connections: int
    received: int  # emails, duplicates included
    unique: int  # distinct Message-IDs of expected subscribers
    unexpected: int  # Message-IDs of subscribers who should not have been told
    unreadable: int
    first_to_last: float  # seconds, first email to last
    queued_to_last: float  # seconds, from the notify_post row's commit to the last email
    most_in_a_second: int  # the most emails in any 1-second window at the sink
    busiest_second: float  # when that window began, seconds after the first email
    worker_cpus: tuple[float, ...]  # CPU seconds of each worker, start-up included
    outcomes: dict[str, int]  # notify rows done, by outcome
    left: int  # notify rows not done at the end
    problems: list[str]  # error lines the workers logged
    killed_after: int | None = None  # emails received when the worker was killed
    killed_second: float | None = None  # when, seconds after the first email
    restart: float | None = None  # seconds from the kill to the new worker working
    longest_gap: float | None = None  # seconds, the longest silence at the sink

    @property
    def theoretical(self) -> float:
        return self.expected / self.rate

    @property
    def ratio(self) -> float:
        return ratio(self.first_to_last, self.theoretical)

    @property
    def worker_cpu(self) -> float:
        return sum(self.worker_cpus)

    @property
    def lost(self) -> int:
        return self.expected - self.unique

    @property
    def duplicates(self) -> int:
        return self.received - self.unique - self.unexpected


def longest_gap(times: list[float]) -> float:
    ordered = sorted(times)
    return max((b - a for a, b in itertools.pairwise(ordered)), default=0.0)


def worker_environment(
    url: str, config: Path, sink: Sink, *, rate: float, connections: int
) -> dict[str, str]:
    return crier_env(
        None,
        url,
        config,
        CRIER_SMTP_URL=sink.url,
        CRIER_SMTP_PER_SECOND=f"{rate:g}",
        CRIER_SMTP_CONNECTIONS=str(connections),
        CRIER_SITE_SECRET=SITE_SECRET,
        CRIER_PUBLIC_URL="https://status.example.edu",
    )


async def measure(
    *,
    backend: str,
    run: str,
    subscribers: int,
    rate: float,
    connections: int,
    folder: Path,
) -> RunFigures:
    with throwaway_database(backend, folder=folder if backend == "sqlite" else None) as url:
        store = migrated_store(url)
        try:
            post_id, expected = await asyncio.to_thread(seed, store, subscribers)
            async with smtp_sink() as sink:
                return await _measure(
                    store,
                    sink,
                    url=url,
                    folder=folder,
                    run=run,
                    post_id=post_id,
                    expected=expected,
                    subscribers=subscribers,
                    rate=rate,
                    connections=connections,
                )
        finally:
            store.dispose()


async def _measure(
    store: Store,
    sink: Sink,
    *,
    url: str,
    folder: Path,
    run: str,
    post_id: int,
    expected: set[int],
    subscribers: int,
    rate: float,
    connections: int,
) -> RunFigures:
    config = write_bench_config(folder / "crier.yml")  # the starter config: the site is on
    env = worker_environment(url, config, sink, rate=rate, connections=connections)
    command = [*crier_command(), "worker"]
    counted = Counted(sink)
    # Generous: the theoretical time twice over, a restart, and a slow machine's start-up.
    deadline = time.monotonic() + 2 * len(expected) / rate + 120
    with ExitStack() as stack:
        workers: list[ServerProcess] = []
        cpu: list[float] = []

        async def start(name: str) -> ServerProcess:
            def started() -> ServerProcess:  # blocks until it says it works: in a thread
                return stack.enter_context(
                    ServerProcess.start(command, env=env, name=name, ready=WORKING)
                )

            worker = await asyncio.to_thread(started)
            workers.append(worker)
            return worker

        first = await start("mail-worker")
        queued_at = await asyncio.to_thread(queue_post, store, post_id)
        killed_after = restart = killed_second = None
        if run == "kill":
            half = counted.at(len(expected) // 2)
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await half.wait()  # a worker that never gets there: the run fails, no hang
            cpu.append(first.cpu_seconds())
            first.process.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            killed_after = len(sink.arrivals)
            killed_second = time.time() - sink.arrivals[0][1]
            await asyncio.to_thread(first.process.wait)
            await start("mail-worker-again")
            restart = time.monotonic() - killed_at
        everyone = counted.at(len(expected))
        with_duplicates_done = await _until_settled(store, sink, expected, everyone, deadline)
        cpu += [w.cpu_seconds() for w in workers if w.process.poll() is None]
        problems = [line for w in workers for line in w.problems()]
        outcomes, left = with_duplicates_done
        await asyncio.to_thread(stack.close)  # stops the worker still running
    times = [at for _, at in sink.arrivals]
    unique = sink.unique()
    most, busiest = busiest_window(times, 1.0)
    return RunFigures(
        run=run,
        subscribers=subscribers,
        expected=len(expected),
        rate=rate,
        connections=connections,
        received=len(sink.arrivals),
        unique=len(unique & expected),
        unexpected=len({s for s, _ in sink.arrivals if s not in expected}),
        unreadable=sink.unreadable,
        first_to_last=(max(times) - min(times)) if times else float("nan"),
        queued_to_last=(max(times) - queued_at) if times else float("nan"),
        most_in_a_second=most,
        busiest_second=busiest,
        worker_cpus=tuple(cpu),
        outcomes=outcomes,
        left=left,
        problems=problems,
        killed_after=killed_after,
        killed_second=killed_second,
        restart=restart,
        longest_gap=longest_gap(times),
    )


async def _until_settled(
    store: Store, sink: Sink, expected: set[int], everyone: asyncio.Event, deadline: float
) -> tuple[dict[str, int], int]:
    """Wait for every expected email, then for every notify row to be done (a resend after a
    kill comes before that), or the deadline; the rows' outcomes and how many are left."""
    try:
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            await everyone.wait()
    except TimeoutError:
        pass
    while True:
        outcomes, left = await asyncio.to_thread(notify_outcomes, store)
        if left == 0 or time.monotonic() > deadline:
            return outcomes, left
        await asyncio.sleep(0.2)  # another process's rows: nothing here to wait on


# --- reporting ---------------------------------------------------------------------------------

HEADER = (
    f"  {'run':<6}{'expected':>9}{'unique':>8}{'dup':>5}{'lost':>6}{'first->last':>13}"
    f"{'theoretical':>13}{'ratio':>7}{'queued->last':>14}{'max/1 s':>9}{'CPU/email':>11}"
)


def report_run(f: RunFigures) -> None:
    cpu = f.worker_cpu / max(f.received, 1) * 1000
    print(
        f"  {f.run:<6}{f.expected:>9}{f.unique:>8}{f.duplicates:>5}{f.lost:>6}"
        f"{f.first_to_last:>11.1f} s{f.theoretical:>11.1f} s{f.ratio:>7.3f}"
        f"{f.queued_to_last:>12.1f} s{f.most_in_a_second:>9}{cpu:>8.1f} ms"
    )
    outcomes = ", ".join(f"{outcome} {n}" for outcome, n in sorted(f.outcomes.items()))
    print(f"    notify rows: {outcomes}; not done {f.left}; emails received {f.received}")
    print(
        f"    the busiest second at the relay: {f.most_in_a_second} emails, from "
        f"{f.busiest_second:.1f} s after the first email"
    )
    if f.killed_after is not None:
        print(
            f"    kill -9 after {f.killed_after} emails ({f.killed_second:.1f} s after the "
            f"first); new worker working {f.restart:.1f} s "
            f"after the kill; longest silence at the relay {f.longest_gap:.1f} s"
        )
        before, after = f.killed_after, f.received - f.killed_after
        if len(f.worker_cpus) == 2 and before and after:
            print(
                f"    CPU (start-up included): killed worker {f.worker_cpus[0]:.1f} s for the "
                f"first {before} ({f.worker_cpus[0] / before * 1000:.1f} ms an email), new "
                f"worker {f.worker_cpus[1]:.1f} s for the other {after} "
                f"({f.worker_cpus[1] / after * 1000:.1f} ms an email)"
            )
    if f.unexpected or f.unreadable:
        print(f"    WRONG: {f.unexpected} to subscribers not following it, {f.unreadable} unread")
    for line in f.problems[:5]:
        print(f"    a worker logged: {line[:160]}")


def report_summary(f: RunFigures) -> None:
    verdict = "ok" if f.ratio <= GOAL else "OVER"
    print(
        f"{f.run}: ratio {f.ratio:.3f} (goal <= {GOAL}: {verdict}); lost {f.lost} (must be 0); "
        f"duplicates {f.duplicates}; most emails in 1 s {f.most_in_a_second} "
        f"(rate {f.rate:g}/s: {'ok' if f.most_in_a_second <= f.rate else 'OVER'})"
    )
    if f.duplicates:
        print(
            f"    {f.duplicates} email(s) sent again after the restart with their Message-ID: "
            "the relay had taken them, the worker was killed before their rows committed"
        )


def main(argv: list[str] | None = None) -> dict[str, list[RunFigures]]:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "subscribers")
    parser.add_argument("--subscribers", type=int, default=None, help="20000 (quick 500)")
    parser.add_argument(
        "--rate",
        type=float,
        default=40.0,
        help="CRIER_SMTP_PER_SECOND (40: under what one worker sends here)",
    )
    parser.add_argument(
        "--connections", type=int, default=4, help="CRIER_SMTP_CONNECTIONS (4, the default)"
    )
    parser.add_argument("--runs", default=",".join(RUNS), help="clean,kill (both)")
    backends_argument(parser)
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    subscribers = args.subscribers or (500 if args.quick else 20000)
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    if unknown := sorted(set(runs) - set(RUNS)):
        raise SystemExit(f"unknown run(s) {unknown}; use {', '.join(RUNS)}")
    results: dict[str, list[RunFigures]] = {}
    for backend in chosen_backends(args):
        expected = sum(told(services_of(n)) for n in range(subscribers))
        print(
            f"subscribers: {subscribers} email subscribers, {expected} follow the post's "
            f"service; relay at {args.rate:g}/s (CRIER_SMTP_PER_SECOND), {args.connections} "
            f"connections; one crier worker; {backend}"
        )
        print(HEADER)
        results[backend] = []
        for run in runs:
            began = time.monotonic()
            with tempfile.TemporaryDirectory(prefix="crier-subscribers-") as folder:
                figures = asyncio.run(
                    measure(
                        backend=backend,
                        run=run,
                        subscribers=subscribers,
                        rate=args.rate,
                        connections=args.connections,
                        folder=Path(folder),
                    )
                )
            results[backend].append(figures)
            report_run(figures)
            print(
                f"    ({time.monotonic() - began:.0f} s with seeding; load average "
                f"{os.getloadavg()[0]:.1f})"
            )
        for figures in results[backend]:
            report_summary(figures)
    return results


if __name__ == "__main__":
    main()
