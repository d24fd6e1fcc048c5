"""What one delivery costs one ``crier worker``: CPU time and SQL statements, and where they go.

As in ``bench.scaleout`` (whose set-up it shares): posts declared and approved by Crier's core to
all eight channels (not measured), then one ``crier worker`` (``bench.unpaced_worker``) publishes
them to the eight fake networks of ``tests/fakes/networks`` (in this process), each answering a
post in ``--latency``. Measured in the worker, from the moment it says it is working until every
delivery is settled and the chat refreshes they queued are done: its CPU time, and its SQL
statements counted by kind and table (SQLAlchemy's ``before_cursor_execute``; start-up's few
included), each divided by the deliveries. With ``--py-spy PATH`` (py-spy from PyPI, outside the
project's virtualenv) the worker is also sampled and the functions that took the most of its CPU
are printed; its CPU figure is then a little higher.

    python -m bench.delivery_cost [--quick] [--approvals 200] [--backends sqlite,postgresql]
        [--py-spy /path/to/py-spy] [--top 25]
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from bench.crier_setup import write_bench_config
from bench.databases import migrated_store, throwaway_database
from bench.fanout import CHANNELS, fake_networks
from bench.figures import backends_argument, base_parser, chosen_backends, quiet_logs
from bench.processes import ServerProcess
from bench.scaleout import (
    WORKING,
    delivery_states,
    fill_outbox,
    worker_command,
    worker_env,
)
from bench.statements import TRANSACTIONS, StatementTally
from bot.scheduling.work import SHOW_INCIDENT, SHOW_POST, THREAD
from bot.storage.models import DeliveryState, Job
from bot.storage.store import Store

UNSETTLED = {DeliveryState.QUEUED.value, DeliveryState.SENDING.value, DeliveryState.RETRYING.value}
REFRESHES = (SHOW_POST, SHOW_INCIDENT, THREAD)
OURS = ("bot/", "handlers/")  # the profile's inclusive table: Crier's own functions


@dataclass(frozen=True)
class CostFigures:
    backend: str
    deliveries: int
    sent: int
    seconds: float  # from the worker working to everything settled and shown
    cpu: float  # the worker's CPU seconds over that time
    # The same from the moment a tenth of the deliveries were settled: one-time costs left out
    # (the first Bluesky post imports its SDK, ~1 s of CPU; the first card loads its fonts).
    steady_cpu: float
    steady_deliveries: int
    statements: StatementTally
    profile: Counter[str]  # py-spy samples by function, inclusive ("" = all samples)
    own: Counter[str]  # py-spy samples by function, where the CPU was spent itself

    @property
    def cpu_ms_per_delivery(self) -> float:
        return self.cpu / max(self.deliveries, 1) * 1000

    @property
    def steady_ms_per_delivery(self) -> float:
        return self.steady_cpu / max(self.steady_deliveries, 1) * 1000

    @property
    def statements_per_delivery(self) -> float:
        return self.statements.total() / max(self.deliveries, 1)


def refreshes_waiting(store: Store) -> int:
    """Chat refreshes (and threads) queued and not yet done."""
    now = datetime.now(UTC)
    with store.transaction() as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(Job)
                .where(
                    col(Job.done_at).is_(None),
                    col(Job.kind).in_(REFRESHES),
                    col(Job.due_at) <= now,
                )
            ).one()
        )


async def measure(
    backend: str, *, approvals: int, latency: float, py_spy: str | None, give_up_after: float
) -> CostFigures:
    with tempfile.TemporaryDirectory(prefix="crier-cost-") as made:
        folder = Path(made)
        with throwaway_database(backend, folder=folder) as url:
            store = migrated_store(url)
            try:
                async with fake_networks(url) as networks:
                    post_ids, _ = await fill_outbox(
                        store, networks, url=url, approvals=approvals, latency=latency
                    )
                    tally_file = folder / "statements.json"
                    env = worker_env(
                        networks,
                        url=url,
                        crier_yml=write_bench_config(folder / "crier.yml", networks.channels()),
                        CRIER_BENCH_STATEMENTS=str(tally_file),
                    )
                    spy_file = folder / "py-spy.txt"
                    return await _measure(
                        store,
                        backend=backend,
                        env=env,
                        post_ids=post_ids,
                        tally_file=tally_file,
                        py_spy=(py_spy, spy_file) if py_spy else None,
                        give_up_after=give_up_after,
                    )
            finally:
                store.dispose()


async def _measure(
    store: Store,
    *,
    backend: str,
    env: dict[str, str],
    post_ids: list[int],
    tally_file: Path,
    py_spy: tuple[str, Path] | None,
    give_up_after: float,
) -> CostFigures:
    expected = len(post_ids) * len(CHANNELS)
    with ExitStack() as stack:

        def start() -> ServerProcess:
            return stack.enter_context(
                ServerProcess.start(
                    worker_command(paced=False), env=env, name="cost-worker", ready=WORKING
                )
            )

        # Started from a thread: this loop serves the fake networks meanwhile.
        worker = await asyncio.to_thread(start)
        cpu_ready = worker.cpu_seconds()
        began = time.monotonic()
        spy = start_py_spy(py_spy, worker.process.pid) if py_spy is not None else None
        warm: tuple[float, int] | None = None  # CPU and deliveries settled at a tenth
        while True:
            states, _, _ = await asyncio.to_thread(delivery_states, store, post_ids)
            settled = sum(n for s, n in states.items() if s not in UNSETTLED)
            if warm is None and settled >= expected / 10:
                warm = (worker.cpu_seconds(), settled)
            if settled >= expected and not await asyncio.to_thread(refreshes_waiting, store):
                break
            if time.monotonic() > began + give_up_after:
                break
            await asyncio.sleep(0.1)
        cpu_done = worker.cpu_seconds()
        cpu = cpu_done - cpu_ready
        warm = warm or (cpu_ready, 0)
        seconds = time.monotonic() - began
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled
            await asyncio.to_thread(spy.wait, 30)
        await asyncio.to_thread(stack.close)  # stops the worker: it writes its statements
    statements, (profile, own) = await asyncio.to_thread(
        lambda: (StatementTally.read(tally_file), read_py_spy(py_spy[1] if py_spy else None))
    )
    return CostFigures(
        backend=backend,
        deliveries=expected,
        sent=states.get(DeliveryState.SENT.value, 0),
        seconds=seconds,
        cpu=cpu,
        steady_cpu=cpu_done - warm[0],
        steady_deliveries=expected - warm[1],
        statements=statements,
        profile=profile,
        own=own,
    )


def start_py_spy(py_spy: tuple[str, Path], pid: int) -> subprocess.Popen[bytes]:
    """Sample process ``pid`` with py-spy into ``py_spy[1]`` until it is sent SIGINT."""
    program, output = py_spy
    # --gil: only the thread running Python is sampled, not threads waiting for the database.
    command = [program, "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--gil"]
    return subprocess.Popen(
        [*command, "--nonblocking", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def read_py_spy(path: Path | None) -> tuple[Counter[str], Counter[str]]:
    """py-spy's raw output (``frame;frame;… count``, outermost first): samples per function,
    inclusive (each function once per stack) and on its own (the innermost frame)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    if path is None or not path.exists():
        return inclusive, own
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [_function(frame) for frame in stack.split(";") if frame]
        samples = int(count)
        inclusive[""] += samples
        for function in set(frames):
            inclusive[function] += samples
        if frames:
            own[frames[-1]] += samples
    return inclusive, own


def _function(frame: str) -> str:
    """``name (path/to/module.py:12)`` → ``name (to/module.py)``: one entry per function."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rpartition(":")[0]
    parts = path.split("/")
    for anchor in ("site-packages", "main", "crier-before", "lib"):
        if anchor in parts:
            parts = parts[len(parts) - parts[::-1].index(anchor) :]
            break
    return f"{name} ({'/'.join(parts[-3:])})"


def report(f: CostFigures, top: int) -> None:
    print(
        f"  {f.backend}: {f.sent}/{f.deliveries} sent and shown in {f.seconds:.1f} s; worker CPU "
        f"{f.cpu:.1f} s = {f.cpu_ms_per_delivery:.2f} ms a delivery "
        f"({f.steady_ms_per_delivery:.2f} after the first tenth); "
        f"{f.statements.total()} SQL statements = {f.statements_per_delivery:.1f} a delivery, "
        f"{f.statements.by_shape[TRANSACTIONS] / max(f.deliveries, 1):.1f} commits a delivery"
    )
    for shape, n in f.statements.by_shape.most_common(top):
        print(f"      {n / max(f.deliveries, 1):7.2f} a delivery  {shape}")
    print("    by where in Crier they come from")
    for shape, n in f.statements.by_origin.most_common(top):
        print(f"      {n / max(f.deliveries, 1):7.2f} a delivery  {shape}")
    total = f.profile[""]
    if not total:
        return
    print(f"    py-spy: {total} samples; Crier's functions by share of the worker's CPU")
    crier = [(fn, n) for fn, n in f.profile.most_common() if fn.split("(")[-1].startswith(OURS)]
    for function, n in crier[:top]:
        print(f"      {n / total:6.1%}  {function}")
    print("    where it was spent itself")
    for function, n in f.own.most_common(top // 2):
        print(f"      {n / total:6.1%}  {function}")


def main(argv: list[str] | None = None) -> list[CostFigures]:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "delivery_cost")
    parser.add_argument("--approvals", type=int, default=None, help="200 (quick 50)")
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per post (0.25)")
    parser.add_argument("--timeout", type=float, default=600.0, help="per backend, seconds")
    parser.add_argument("--py-spy", default=None, help="the py-spy program: sample the worker")
    parser.add_argument("--top", type=int, default=25, help="lines of each table (25)")
    backends_argument(parser)
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    approvals = args.approvals or (50 if args.quick else 200)
    print(
        f"delivery_cost: {approvals} approved posts to {len(CHANNELS)} channels "
        f"({approvals * len(CHANNELS)} deliveries), {args.latency * 1000:.0f} ms at the network "
        "a post; one crier worker (Statuspage unpaced), measured from working to all sent and shown"
    )
    results = []
    for backend in chosen_backends(args):
        figures = asyncio.run(
            measure(
                backend,
                approvals=approvals,
                latency=args.latency,
                py_spy=args.py_spy,
                give_up_after=args.timeout,
            )
        )
        report(figures, args.top)
        results.append(figures)
    return results


if __name__ == "__main__":
    main()
