"""The status site's home page under load: Crier's routes against aiohttp's static file handler
serving the same bytes, with a publish landing halfway through Crier's run.

Both servers run in this process on 127.0.0.1, port 0, one loaded at a time; the load comes from
another process (``bench.http_load``). Crier: ``handlers.site.add_site_routes`` with a real
``SiteCache`` over a database holding 200 incidents of 90 days (3 to 5 site posts each).
Baseline: ``web.static`` over the same build exported by ``bot.site.export.export_site``.
Ratio = Crier's requests a second ÷ the static handler's (goal ≥ 0.5); once asking for the whole
page, once revalidating with ``If-None-Match`` as a CDN does.

    python -m bench.site [--quick] [--seconds 10] [--connections 16]
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from sqlmodel import Session

from bench.crier_setup import bench_config
from bench.databases import migrated_store, throwaway_database
from bench.figures import backends_argument, base_parser, chosen_backends, quiet_logs, ratio
from bot.config import CrierConfig
from bot.ports import SystemClock
from bot.site.cache import SiteCache
from bot.site.export import export_site
from bot.storage.store import Store
from handlers.site import add_site_routes
from tests.unit.site_rows import add_site_post

GOAL = 0.5
ROOT = Path(__file__).resolve().parent.parent  # where ``python -m bench.…`` runs
PREFIX = "/status/"
SITE_URL = "https://status.example.edu/status/"
DAYS = 90
OPEN_INCIDENTS = 3  # the most recent ones, still unresolved: some services are not green
# The public story of an incident, one site post per status; 3 to 5 of them each.
STORY = ("investigating", "identified", "monitoring", "monitoring", "resolved")
TEXTS = {
    "investigating": "We are investigating reports that {service} is unavailable for some "
    "students and staff. We will post an update within 30 minutes.",
    "identified": "We have found the cause of the {service} problem: a failed storage "
    "controller. Engineers are moving the service to the standby hardware.",
    "monitoring": "{service} is working again for most people. We are watching it closely "
    "and will post again if anything changes.",
    "resolved": "{service} is fully restored. Thank you for your patience; if you still "
    "cannot use it, contact the IT Service Desk.",
}


@dataclass(frozen=True)
class Measure:
    server: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[str, int]
    server_cpu: float  # seconds of CPU this process (the servers) used during the run
    load_cpu: float  # and the load generator's
    rebuilds: int | None = None  # Crier only: site builds during the run
    publish_seen: bool | None = None  # Crier only: the published post was served under load

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class SiteFigures:
    page_bytes: int
    incidents: int
    static: Measure
    crier: Measure
    static_revalidating: Measure
    crier_revalidating: Measure

    @property
    def measures(self) -> tuple[Measure, ...]:
        return (self.static, self.crier, self.static_revalidating, self.crier_revalidating)

    @property
    def errors(self) -> int:
        return sum(m.errors for m in self.measures)

    @property
    def ratio(self) -> float:
        return ratio(self.crier.per_second, self.static.per_second)

    @property
    def revalidating_ratio(self) -> float:
        return ratio(self.crier_revalidating.per_second, self.static_revalidating.per_second)


def seed_site(session: Session, *, config: CrierConfig, incidents: int, now: datetime) -> None:
    """``incidents`` spread over the last 90 days, each with 3 to 5 posts sent to the site, as
    the outbox leaves them; the latest few still open."""
    chance = random.Random(18)
    services = [service.name for service in config.services]
    for n in range(incidents):
        declared = now - timedelta(days=DAYS) + timedelta(days=DAYS) * (n + 0.5) / incidents
        posts = chance.randint(3, 5)
        statuses = [*STORY[: posts - 1], "resolved"]
        if n >= incidents - OPEN_INCIDENTS:
            statuses = statuses[:-1]
            declared = now - timedelta(hours=incidents - n + 1)
        service = chance.choice(services)
        add_site_incident(
            session,
            service=service,
            severity=chance.choice(("sev1", "sev2", "sev2", "sev3")),
            timeline=[(declared + timedelta(minutes=25 * i), s) for i, s in enumerate(statuses)],
        )


def add_site_incident(
    session: Session,
    *,
    service: str,
    severity: str,
    timeline: list[tuple[datetime, str]],
    text: str | None = None,
) -> int:
    """An incident with one post per (at, status) of ``timeline``, each approved and sent to
    the site; returns its id."""
    incident_id: int | None = None
    for at, status in timeline:
        incident_id = add_site_post(
            session,
            at=at,
            text=text or TEXTS[status].format(service=service),
            service=service,
            severity=severity,
            status=status,
            incident_id=incident_id,
        )
    assert incident_id is not None
    return incident_id


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """``app`` on 127.0.0.1, port 0; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def run_load(
    url: str, *, seconds: float, connections: int, revalidate: bool, halfway: asyncio.Event
) -> dict[str, object]:
    """``bench.http_load`` against ``url`` in its own process; ``halfway`` is set at half time."""
    command = [sys.executable, "-m", "bench.http_load", url]
    command += ["--seconds", str(seconds), "--connections", str(connections)]
    command += ["--revalidate"] if revalidate else []
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    assert process.stdout is not None
    started = await process.stdout.readline()
    if started.strip() != b"started":
        await process.wait()
        raise RuntimeError(f"the load generator did not start (exit {process.returncode})")
    await asyncio.sleep(seconds / 2)  # the publish lands halfway through the load
    halfway.set()
    output = await process.stdout.read()
    if await process.wait() != 0:
        raise RuntimeError(f"the load generator failed (exit {process.returncode})")
    found: dict[str, object] = json.loads(output.decode().strip().splitlines()[-1])
    return found


def measure_of(
    server: str,
    found: dict[str, object],
    *,
    server_cpu: float,
    rebuilds: int | None = None,
    publish_seen: bool | None = None,
) -> Measure:
    statuses = found["statuses"]
    assert isinstance(statuses, dict)
    return Measure(
        server=server,
        requests=int(str(found["requests"])),
        seconds=float(str(found["seconds"])),
        p50_ms=float(str(found["p50_ms"])),
        p99_ms=float(str(found["p99_ms"])),
        errors=int(str(found["error_count"])),
        statuses={str(k): int(v) for k, v in statuses.items()},
        server_cpu=server_cpu,
        load_cpu=float(str(found["cpu_seconds"])),
        rebuilds=rebuilds,
        publish_seen=publish_seen,
    )


async def load_static(url: str, *, seconds: float, connections: int, revalidate: bool) -> Measure:
    cpu_began = time.process_time()
    found = await run_load(
        url,
        seconds=seconds,
        connections=connections,
        revalidate=revalidate,
        halfway=asyncio.Event(),
    )
    name = "static, revalidating" if revalidate else "static (aiohttp)"
    return measure_of(name, found, server_cpu=time.process_time() - cpu_began)


async def load_crier(
    url: str,
    *,
    cache: SiteCache,
    store: Store,
    seconds: float,
    connections: int,
    revalidate: bool,
) -> Measure:
    """Crier under load; halfway, a new incident's first post is sent to the site, as the
    outbox records it, and the cache is told (as the publishing loop of this process does)."""
    builds_before = cache.builds
    halfway = asyncio.Event()
    text = f"We are investigating reports that the VPN drops connections (bench {uuid.uuid4()})."

    async def publish() -> None:
        await halfway.wait()
        at = datetime.now(UTC)
        await store.run(
            lambda session: add_site_incident(
                session,
                service="VPN",
                severity="sev2",
                timeline=[(at, "investigating")],
                text=text,
            )
        )
        cache.changed()

    publishing = asyncio.create_task(publish())
    cpu_began = time.process_time()
    found = await run_load(
        url, seconds=seconds, connections=connections, revalidate=revalidate, halfway=halfway
    )
    await publishing
    server_cpu = time.process_time() - cpu_began
    after = await cache.current()
    bodies = found["bodies_by_etag"]
    assert isinstance(bodies, dict)
    home = after.files[""]
    seen = text.encode() in home.body and home.etag in bodies
    name = "crier, revalidating" if revalidate else "crier"
    rebuilds = cache.builds - builds_before
    return measure_of(name, found, server_cpu=server_cpu, rebuilds=rebuilds, publish_seen=seen)


async def measure(
    *, backend: str, folder: Path, incidents: int, seconds: float, connections: int
) -> SiteFigures:
    config = bench_config()
    with throwaway_database(backend, folder=folder) as database_url:
        store = migrated_store(database_url)
        try:
            with store.transaction() as session:
                seed_site(session, config=config, incidents=incidents, now=datetime.now(UTC))
            cache = SiteCache(store=store, config=config, clock=SystemClock(), site_url=SITE_URL)
            build = await cache.current()
            export_site(build, folder / "static")
            static_app = web.Application()
            static_app.router.add_static(PREFIX, folder / "static")
            crier_app = web.Application()
            add_site_routes(crier_app, cache, PREFIX)
            async with serving(static_app) as static_url, serving(crier_app) as crier_url:
                static_page = f"{static_url}{PREFIX}index.html"
                crier_page = f"{crier_url}{PREFIX}"
                runs = []
                for revalidate in (False, True):
                    runs.append(
                        await load_static(
                            static_page,
                            seconds=seconds,
                            connections=connections,
                            revalidate=revalidate,
                        )
                    )
                    runs.append(
                        await load_crier(
                            crier_page,
                            cache=cache,
                            store=store,
                            seconds=seconds,
                            connections=connections,
                            revalidate=revalidate,
                        )
                    )
        finally:
            store.dispose()
    static, crier, static_revalidating, crier_revalidating = runs
    return SiteFigures(
        page_bytes=len(build.files[""].body),
        incidents=incidents,
        static=static,
        crier=crier,
        static_revalidating=static_revalidating,
        crier_revalidating=crier_revalidating,
    )


def report(figures: SiteFigures, *, backend: str, seconds: float, connections: int) -> None:
    print(
        f"site: the home page ({figures.page_bytes:,} bytes; {figures.incidents} incidents over "
        f"{DAYS} days) for {seconds:g} s a run, {connections} connections from another process; "
        f"{backend}"
    )
    print(
        f"  {'server':<30}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}  CPU server/load  statuses            rebuilds  publish seen"
    )
    for m in figures.measures:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(m.statuses.items()))
        crier = (
            "" if m.rebuilds is None else f"{m.rebuilds:>8}  {'yes' if m.publish_seen else 'NO'}"
        )
        row = (
            f"  {m.server:<30}{m.requests:>9}{m.per_second:>9.0f}{m.p50_ms:>9.1f}{m.p99_ms:>9.1f}"
            f"{m.errors:>8}  {m.server_cpu:6.1f} / {m.load_cpu:4.1f} s  {statuses:<20}{crier}"
        )
        print(row.rstrip())
    met = "ok" if figures.ratio >= GOAL else "UNDER"
    print(
        f"ratio crier / static: {figures.ratio:.2f} (goal >= {GOAL}: {met}); revalidating "
        f"(If-None-Match, 304s): {figures.revalidating_ratio:.2f}; errors "
        f"{figures.errors} (must be 0); rebuilds per "
        f"publish {figures.crier.rebuilds}, {figures.crier_revalidating.rebuilds} (should be 1)"
    )


def main(argv: list[str] | None = None) -> dict[str, SiteFigures]:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "site")
    parser.add_argument(
        "--seconds", type=float, default=None, help="each run (default 10; quick 3)"
    )
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--incidents", type=int, default=200, help="incidents in the database")
    backends_argument(parser, default="sqlite")
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    results: dict[str, SiteFigures] = {}
    for backend in chosen_backends(args):
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="crier-site-") as folder:
            results[backend] = asyncio.run(
                measure(
                    backend=backend,
                    folder=Path(folder),
                    incidents=args.incidents,
                    seconds=seconds,
                    connections=args.connections,
                )
            )
        report(results[backend], backend=backend, seconds=seconds, connections=args.connections)
        print(f"({time.monotonic() - started:.0f} s)")
    return results


if __name__ == "__main__":
    main()
