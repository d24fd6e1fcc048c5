"""Memory: resident memory of ``crier serve`` idle, and after 1,000 incidents with their posts.

``crier serve --port 0`` runs in its own process — one process: it acks, drafts, publishes and
reminds — on a throw-away database, with Slack at a simulator in a third process and no network
credentials, so every post is published to the outbox. Through its HTTP endpoint, with signed
requests as Slack sends them, 1,000 ``/outage`` commands declare 1,000 incidents; once their
drafts are in the thread, 1,000 *Approve* clicks publish them. When every delivery is sent, the
resident memory (``VmRSS`` in ``/proc/<pid>/status``) is read again. Goal: under 150 MiB after.

Baseline, in the same run: a bare slack-bolt app (``bench.bare_bolt``), idle and after as many
requests.

    python -m bench.memory [--quick] [--incidents 1000] [--backends sqlite]
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from sqlalchemy import create_engine

from bench.databases import throwaway_database
from bench.figures import backends_argument, base_parser, chosen_backends, quiet_logs, ratio
from bench.processes import ServerProcess, children
from bench.servers import bare_bolt, counts, crier_serve, slack_simulator
from bench.slack_load import SERVICES, DraftFeed, LoadResult, SlackLoad
from bot.storage.store import normalise_database_url

CONCURRENCY = 10
# Services whose posts go to two channels (X and the status page): 1,000 incidents then make
# 2,000 deliveries, which Crier publishes within the time a benchmark may take.
TWO_CHANNEL_SERVICES = ("VPN", "Phones", "Printing", "Library Systems")
SETTLE_SECONDS = 2.0
GOAL_MIB = 150.0


@dataclass(frozen=True)
class MemoryFigures:
    backend: str
    incidents: int
    bare_idle_kib: int
    bare_after_kib: int
    crier_idle_kib: int
    crier_after_kib: int
    declared: int
    approved: int
    sent: int
    deliveries: int
    declaring: float  # seconds until every draft was in the thread
    publishing: float  # seconds from the first Approve click until every delivery was sent
    processes: int  # crier serve and the processes it started (1)

    @property
    def crier_growth_kib(self) -> int:
        return self.crier_after_kib - self.crier_idle_kib


async def _send_all(load: SlackLoad, kinds: list[str]) -> LoadResult:
    result = LoadResult()
    limit = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession() as session:

        async def one(kind: str) -> None:
            async with limit:
                await load.send(session, kind, result)

        await asyncio.gather(*(one(kind) for kind in kinds))
    if result.failures or result.refusals:
        raise RuntimeError(
            f"the server refused requests: {dict(result.failures)} {dict(result.refusals)}"
        )
    return result


async def _until(check: Callable[[], bool], *, timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.25)
    raise RuntimeError(f"gave up waiting for {what} after {timeout:.0f} s")


async def drive_crier(
    crier: ServerProcess,
    slack: ServerProcess,
    database_url: str,
    incidents: int,
    services: tuple[str, ...],
) -> tuple[float, float]:
    """Declare ``incidents`` incidents, approve each draft, wait until everything is sent;
    returns the seconds until every draft was in the thread, then until everything was sent."""
    drafts = DraftFeed(database_url)
    engine = create_engine(normalise_database_url(database_url))
    load = SlackLoad(
        url=f"{crier.url}/slack/events",
        simulator_url=slack.url,
        drafts=drafts,
        services=services,
    )
    timeout = 60 + incidents * 0.6
    began = time.monotonic()
    try:
        await _send_all(load, ["command"] * incidents)
        await _until(
            lambda: counts(engine).incidents >= incidents, timeout=timeout, what="the incidents"
        )

        async def all_drafts() -> None:
            while drafts.waiting < incidents:
                await drafts.refresh()
                await asyncio.sleep(0.25)

        await asyncio.wait_for(all_drafts(), timeout=timeout)
        declared = time.monotonic() - began
        await _send_all(load, ["click"] * incidents)

        def all_sent() -> bool:
            now = counts(engine)
            return now.approved >= incidents and now.sent >= now.deliveries

        await _until(all_sent, timeout=timeout, what="every delivery to be sent")
        return declared, time.monotonic() - began - declared
    finally:
        drafts.close()
        engine.dispose()


async def drive_bare(bare: ServerProcess, slack: ServerProcess, incidents: int) -> None:
    load = SlackLoad(
        url=f"{bare.url}/slack/events",
        simulator_url=slack.url,
        drafts=DraftFeed(None),
        expect_drafting=False,
    )
    await _send_all(load, ["command", "click"] * incidents)


def measure(
    slack: ServerProcess, *, backend: str, incidents: int, services: tuple[str, ...]
) -> MemoryFigures:
    with bare_bolt(slack) as bare:
        time.sleep(SETTLE_SECONDS)
        bare_idle = bare.rss_kib()
        asyncio.run(drive_bare(bare, slack, incidents))
        time.sleep(SETTLE_SECONDS)
        bare_after = bare.rss_kib()
    with (
        tempfile.TemporaryDirectory(prefix="crier-memory-") as made,
        throwaway_database(backend, folder=Path(made)) as url,
        crier_serve(slack, url, Path(made)) as crier,
    ):
        time.sleep(SETTLE_SECONDS)
        crier_idle = crier.rss_kib()
        processes = 1 + len(children(crier.process.pid))
        declaring, publishing = asyncio.run(drive_crier(crier, slack, url, incidents, services))
        time.sleep(SETTLE_SECONDS)
        crier_after = crier.rss_kib()
        engine = create_engine(normalise_database_url(url))
        try:
            done = counts(engine)
        finally:
            engine.dispose()
    return MemoryFigures(
        backend=backend,
        incidents=incidents,
        bare_idle_kib=bare_idle,
        bare_after_kib=bare_after,
        crier_idle_kib=crier_idle,
        crier_after_kib=crier_after,
        declared=done.incidents,
        approved=done.approved,
        sent=done.sent,
        deliveries=done.deliveries,
        declaring=declaring,
        publishing=publishing,
        processes=processes,
    )


def _mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def report(f: MemoryFigures) -> None:
    print(
        f"memory: resident memory (VmRSS); {f.incidents} incidents declared and approved "
        f"through /slack/events; {f.backend}"
    )
    print(f"  {'server':<14} {'idle':>10} {'after':>10} {'growth':>10}")
    print(
        f"  {'bare bolt app':<14} {_mib(f.bare_idle_kib):>10} {_mib(f.bare_after_kib):>10} "
        f"{_mib(f.bare_after_kib - f.bare_idle_kib):>10}"
    )
    print(
        f"  {'crier serve':<14} {_mib(f.crier_idle_kib):>10} {_mib(f.crier_after_kib):>10} "
        f"{_mib(f.crier_growth_kib):>10}"
    )
    print(
        f"ratio crier / bare: idle {ratio(f.crier_idle_kib, f.bare_idle_kib):.2f}, after "
        f"{ratio(f.crier_after_kib, f.bare_after_kib):.2f}; growth per incident "
        f"{f.crier_growth_kib / max(f.incidents, 1):.1f} KiB"
    )
    after_mib = f.crier_after_kib / 1024
    print(
        f"crier serve after {f.incidents} incidents: {after_mib:.1f} MiB in {f.processes} "
        f"process(es) (goal < {GOAL_MIB:g} MiB: {'ok' if after_mib < GOAL_MIB else 'OVER'})"
    )
    print(
        f"crier's work: {f.declared} incidents, {f.approved} posts approved, "
        f"{f.sent}/{f.deliveries} deliveries sent; declaring took {f.declaring:.0f} s, "
        f"approving and publishing {f.publishing:.0f} s"
    )


def main(argv: list[str] | None = None) -> dict[str, MemoryFigures]:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "memory")
    parser.add_argument("--incidents", type=int, default=None, help="1000 (quick 100)")
    parser.add_argument(
        "--all-channels",
        action="store_true",
        help="the catalog's services (2 to 5 channels each) instead of two-channel ones",
    )
    backends_argument(parser, default="sqlite")
    args = parser.parse_args(argv)
    services = SERVICES if args.all_channels else TWO_CHANNEL_SERVICES
    quiet_logs(args.verbose)
    incidents = args.incidents or (100 if args.quick else 1000)
    results: dict[str, MemoryFigures] = {}
    with slack_simulator() as slack:
        for backend in chosen_backends(args):
            results[backend] = measure(
                slack, backend=backend, incidents=incidents, services=services
            )
            report(results[backend])
    return results


if __name__ == "__main__":
    main()
