"""Scale-out on PostgreSQL: 1,000 approved posts to 8 channels drained by 1 ``crier worker``,
then by 3, each network answering a post in 250 ms.

The approvals are made by Crier's own core (``Core.declare`` then ``Core.approve`` by an
approver, with all eight channels), not timed: 8,000 deliveries wait in the outbox. Then
``crier worker`` processes — the work runner, the publisher and the scheduler, no HTTP — are
started on that database, with the eight fake networks of ``tests/fakes/networks`` (in this
process, as in ``bench.fanout``: an API that needs several requests per post gets the 250 ms
split over them) as their networks. The networks' limits that would make 1,000 posts wait
whatever the number of workers are lifted: the fake X's (200 posts in 15 minutes), Statuspage's
(60 requests a minute) and Instagram's (50 posts a day), and Crier's own pacing of Statuspage
(``bench.unpaced_worker``; ``--keep-statuspage-pacing`` runs ``crier worker`` as it is).
Drain = from the moment the first worker said it was working to the last ``Delivery.sent_at``.
Speed-up = drain with 1 ÷ drain with 3 (goal ≥ 2.5).

Each post's text carries "(scale-out N)"; every request a fake network received that names a
post is counted by (network, route, N): a count over 1 is a duplicate (must be 0), a post a
network never received is lost.

    python -m bench.scaleout [--quick] [--approvals 1000] [--workers 1,3] [--latency 0.25]
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from bench.crier_setup import analyst, approver, bench_config, write_bench_config
from bench.databases import migrated_store, throwaway_database
from bench.fanout import CHANNELS, SECRETS, Bench, Networks, credentials, fake_networks
from bench.figures import base_parser, quiet_logs, ratio
from bench.processes import ServerProcess, crier_command
from bench.servers import crier_env
from bot.config import Network
from bot.core import build_core
from bot.incidents.requests import DeclareRequest
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from bot.storage.store import Store
from tests.fakes.networks.facebook import FakeGraph
from tests.fakes.networks.statuspage import FakeStatuspage
from tests.fakes.networks.x import FakeX

GOAL = 2.5
UNLIMITED = 1_000_000_000
MARKER = re.compile(r"scale-out (\d+)")  # LinkedIn's text escapes the brackets around it
WORKING = re.compile(r"Crier worker \S+ is working")
CREDENTIAL_ENV = {
    "X_BEARER_TOKEN": SECRETS["x"],
    "FACEBOOK_PAGE_TOKEN": SECRETS["facebook"],
    "INSTAGRAM_ACCESS_TOKEN": SECRETS["instagram"],
    "MASTODON_ACCESS_TOKEN": SECRETS["mastodon"],
    "BLUESKY_APP_PASSWORD": SECRETS["bluesky"],
    "LINKEDIN_ACCESS_TOKEN": SECRETS["linkedin"],
    "STATUSPAGE_API_KEY": SECRETS["statuspage"],
    "WEBHOOK_SECRET": SECRETS["webhook"],
}


@dataclass(frozen=True)
class ScaleFigures:
    workers: int
    approvals: int
    deliveries: int
    sent: int
    states: dict[str, int]  # deliveries of the approvals, by state
    drain: float  # seconds, from the first worker working to the last delivery sent
    ready_spread: float  # seconds between the first and the last worker saying it works
    building: float  # seconds to declare and approve them through the core (not timed)
    duplicates: int  # requests naming a post that a network had received already
    lost: int  # (network, post) pairs never received
    unchecked: list[str]  # networks whose requests never name the post (not counted)
    most_attempts: int
    problems: list[str]  # error lines in the workers' logs
    worker_cpu: float  # CPU seconds the workers used, all together
    networks_cpu: float  # CPU seconds this process (the fake networks) used meanwhile

    @property
    def per_second(self) -> float:
        return self.sent / self.drain if self.drain > 0 else 0.0


def post_markers(networks: Networks) -> dict[Network, Counter[tuple[str, int]]]:
    """For each network, how often each (route, post number) was received."""
    seen: dict[Network, Counter[tuple[str, int]]] = {}
    for network, fake in networks.fakes.items():
        counted: Counter[tuple[str, int]] = Counter()
        for received in fake.received:
            body = received.body if isinstance(received.body, str) else json.dumps(received.body)
            for number in {int(n) for n in MARKER.findall(body)}:
                counted[(f"{received.method} {received.path}", number)] += 1
        seen[network] = counted
    return seen


async def build_approvals(bench: Bench, approvals: int) -> list[int]:
    """Declare and approve ``approvals`` posts to every channel; their post ids."""
    post_ids = []
    for number in range(approvals):
        draft = await bench.core.declare(
            analyst,
            DeclareRequest(
                service="Blackboard",
                summary=f"cannot sign in (scale-out {number})",
                channels=CHANNELS,
            ),
        )
        await bench.core.approve(approver, draft.post.id)
        post_ids.append(draft.post.id)
    return post_ids


def delivery_states(store: Store, post_ids: list[int]) -> tuple[dict[str, int], float | None, int]:
    """The deliveries of ``post_ids`` by state, the last one's sent_at (unix) and the most
    attempts any took."""
    with store.transaction() as session:
        rows = session.exec(
            select(
                Delivery.state,
                func.count(),
                func.max(Delivery.sent_at),
                func.max(Delivery.attempts),
            )
            .where(col(Delivery.post_id).in_(post_ids))
            .group_by(Delivery.state)
        ).all()
    states = {str(state): int(n) for state, n, _, _ in rows}
    last = [at for _, _, at, _ in rows if at is not None]
    latest = max(last) if last else None
    if latest is not None and latest.tzinfo is None:
        latest = latest.replace(tzinfo=UTC)
    return (
        states,
        (latest.timestamp() if latest else None),
        max((int(a or 0) for *_, a in rows), default=0),
    )


async def fill_outbox(
    store: Store, networks: Networks, *, url: str, approvals: int, latency: float
) -> tuple[list[int], float]:
    """Declare and approve ``approvals`` posts to every channel through Crier's core, then
    give each network ``latency`` a post and lift its limits; the post ids, and the seconds
    the approvals took (not timed)."""
    config = bench_config(networks.channels())
    settings = Settings(database_url=url, public_url=networks.cards_url)
    core = build_core(settings=settings, config=config, store=store, credentials=credentials())
    bench = Bench(core, networks)
    try:
        # Without latency: sign-ins and the like, then one post to count requests per post.
        await bench.publish(CHANNELS, core.publishing)
        before = networks.received()
        await bench.publish(CHANNELS, core.publishing)
        after = networks.received()
        began = time.monotonic()
        post_ids = await build_approvals(bench, approvals)
        building = time.monotonic() - began
    finally:
        await core.close()
    for network, fake in networks.fakes.items():
        fake.latency = latency / max(1, after[network] - before[network])
        # X allows 200 posts in 15 minutes, Statuspage a key 60 requests a minute, Instagram an
        # account 50 posts a day: 1,000 posts would wait for those limits whatever the number
        # of workers. This measures workers, not limits (bench.ratelimit: how Crier keeps one).
        if isinstance(fake, FakeX):
            fake.window_limit = UNLIMITED
        if isinstance(fake, FakeStatuspage):
            fake.rate_limit = UNLIMITED
        if isinstance(fake, FakeGraph):
            fake.publish_limit = UNLIMITED
        fake.received.clear()
        fake.arrivals.clear()
    return post_ids, building


def worker_env(networks: Networks, *, url: str, crier_yml: Path, **extra: str) -> dict[str, str]:
    """A ``crier worker``'s environment: the database, crier.yml and every network's secret."""
    return crier_env(
        None, url, crier_yml, CRIER_PUBLIC_URL=networks.cards_url, **CREDENTIAL_ENV, **extra
    )


def worker_command(paced: bool) -> list[str]:
    """``crier worker``, or the same with Statuspage's pacing lifted (``bench.unpaced_worker``)."""
    return [*crier_command(), "worker"] if paced else [sys.executable, "-m", "bench.unpaced_worker"]


async def measure(
    *, workers: int, approvals: int, latency: float, give_up_after: float, paced: bool = False
) -> ScaleFigures:
    with (
        tempfile.TemporaryDirectory(prefix="crier-scaleout-") as made,
        throwaway_database("postgresql") as url,
    ):
        store = migrated_store(url)
        try:
            async with fake_networks(url) as networks:
                return await _measure(
                    store,
                    networks,
                    url=url,
                    folder=Path(made),
                    workers=workers,
                    approvals=approvals,
                    latency=latency,
                    give_up_after=give_up_after,
                    paced=paced,
                )
        finally:
            store.dispose()


async def _measure(
    store: Store,
    networks: Networks,
    *,
    url: str,
    folder: Path,
    workers: int,
    approvals: int,
    latency: float,
    give_up_after: float,
    paced: bool,
) -> ScaleFigures:
    post_ids, building = await fill_outbox(
        store, networks, url=url, approvals=approvals, latency=latency
    )
    crier_yml = write_bench_config(folder / "crier.yml", networks.channels())
    env = worker_env(networks, url=url, crier_yml=crier_yml)
    command = worker_command(paced)
    with ExitStack() as stack:

        def start(n: int) -> tuple[ServerProcess, float]:
            process = stack.enter_context(
                ServerProcess.start(command, env=env, name=f"worker{n}", ready=WORKING)
            )
            return process, time.time()

        cpu_before = time.process_time()
        # Started from threads: this loop serves the fake networks meanwhile.
        started = await asyncio.gather(*(asyncio.to_thread(start, n) for n in range(workers)))
        ready = sorted(at for _, at in started)
        deadline = time.monotonic() + give_up_after
        expected = len(post_ids) * len(CHANNELS)
        while True:
            states, last_sent, most_attempts = await asyncio.to_thread(
                delivery_states, store, post_ids
            )
            settled = sum(n for s, n in states.items() if s not in _UNSETTLED)
            if settled >= expected or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        problems = [line for process, _ in started for line in process.problems()]
        worker_cpu = sum(process.cpu_seconds() for process, _ in started)
        networks_cpu = time.process_time() - cpu_before
        await asyncio.to_thread(stack.close)  # stops the workers
    seen = post_markers(networks)
    numbers = set(range(approvals))
    unchecked = [n.value for n, counted in seen.items() if not counted]
    duplicates = sum(c - 1 for counted in seen.values() for c in counted.values() if c > 1)
    lost = sum(
        len(numbers - {number for _, number in counted}) for counted in seen.values() if counted
    )
    return ScaleFigures(
        workers=workers,
        approvals=approvals,
        deliveries=expected,
        sent=states.get(DeliveryState.SENT.value, 0),
        states=states,
        drain=(last_sent - ready[0]) if last_sent else float("nan"),
        ready_spread=ready[-1] - ready[0],
        building=building,
        duplicates=duplicates,
        lost=lost,
        unchecked=unchecked,
        most_attempts=most_attempts,
        problems=problems,
        worker_cpu=worker_cpu,
        networks_cpu=networks_cpu,
    )


_UNSETTLED = {DeliveryState.QUEUED.value, DeliveryState.SENDING.value, DeliveryState.RETRYING.value}


def report(f: ScaleFigures) -> None:
    states = ", ".join(f"{state} {n}" for state, n in sorted(f.states.items()))
    print(
        f"  {f.workers} worker(s): {f.sent}/{f.deliveries} sent in {f.drain:.1f} s "
        f"({f.per_second:.0f} deliveries/s; workers ready within {f.ready_spread:.1f} s of each "
        f"other); duplicates {f.duplicates}, lost {f.lost}; most attempts {f.most_attempts}"
        f"; {states}"
    )
    print(
        f"    CPU: workers {f.worker_cpu:.1f} s ({f.worker_cpu / max(f.sent, 1) * 1000:.1f} ms a "
        f"delivery, start-up included), fake networks {f.networks_cpu:.1f} s"
    )
    if f.unchecked:
        print(f"    not checked for duplicates (their requests never name the post): {f.unchecked}")
    for line in f.problems[:5]:
        print(f"    a worker logged: {line[:160]}")


def main(argv: list[str] | None = None) -> list[ScaleFigures]:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "scaleout")
    parser.add_argument("--approvals", type=int, default=None, help="1000 (quick 100)")
    parser.add_argument("--workers", default="1,3", help="worker counts to compare (1,3)")
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per post (0.25)")
    parser.add_argument("--timeout", type=float, default=600.0, help="per run, seconds (600)")
    parser.add_argument(
        "--keep-statuspage-pacing",
        action="store_true",
        help="run crier worker as it is: Statuspage at 60 requests a minute per process",
    )
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    from bench.databases import postgres_available

    if not postgres_available():
        print("scaleout: PostgreSQL is not reachable (set CRIER_BENCH_POSTGRES_URL); skipped")
        return []
    approvals = args.approvals or (100 if args.quick else 1000)
    counts = [int(n) for n in args.workers.split(",")]
    print(
        f"scaleout: {approvals} approved posts to {len(CHANNELS)} channels each "
        f"({approvals * len(CHANNELS)} deliveries), {args.latency * 1000:.0f} ms at the network "
        "for each post; postgresql; crier worker processes"
        + ("" if args.keep_statuspage_pacing else " (Statuspage unpaced)")
    )
    results = []
    for workers in counts:
        results.append(
            asyncio.run(
                measure(
                    workers=workers,
                    approvals=approvals,
                    latency=args.latency,
                    give_up_after=args.timeout,
                    paced=args.keep_statuspage_pacing,
                )
            )
        )
        report(results[-1])
    if len(results) >= 2:
        first, last = results[0], results[-1]
        speedup = ratio(first.drain, last.drain)
        print(
            f"speed-up {last.workers} / {first.workers} worker(s): {speedup:.2f} "
            f"(goal >= {GOAL}: {'ok' if speedup >= GOAL else 'UNDER'}); "
            f"duplicates {sum(r.duplicates for r in results)} (must be 0); "
            f"building the approvals took {first.building:.0f} s a run, not timed"
        )
    return results


if __name__ == "__main__":
    main()
