"""``GET /metrics``: the job queue and the deliveries as they are at each scrape, and how long
Slack and Teams wait for their answers, on the real app (127.0.0.1, port 0)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bot.config import CrierConfig
from bot.scheduling.jobs import schedule
from bot.scheduling.reminders import APPROVAL, REVIEW
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState, Job
from bot.storage.store import Store
from handlers.metrics import add_metrics
from handlers.server import Crier, build_crier
from tests.clock import FakeClock

TOKEN = "xoxb-metrics-test-token"
SECRET = "metrics-test-signing-secret"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Served:
    crier: Crier
    url: str
    http: aiohttp.ClientSession

    async def scrape(self, accept: str | None = None) -> tuple[str, str]:
        headers = {"Accept": accept} if accept else {}
        async with self.http.get(f"{self.url}/metrics", headers=headers) as response:
            assert response.status == 200
            return response.headers["Content-Type"], await response.text()

    async def samples(self) -> Samples:
        return parse(*(await self.scrape()))


def parse(content_type: str, body: str) -> Samples:
    assert content_type.startswith("text/plain"), content_type
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def serve(
    store: Store, config: CrierConfig, clock: FakeClock, http: aiohttp.ClientSession
) -> tuple[Served, web.AppRunner]:
    """The app as ``crier serve`` builds it (Slack over HTTP, Teams off), plus ``/metrics``."""
    settings = Settings(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL="http://127.0.0.1:9/api/",  # never called: no request here is signed
    )
    crier = build_crier(settings=settings, config=config, store=store, clock=clock)
    crier.runs_background = False  # the jobs below stay as written; nothing claims them
    add_metrics(crier.web, crier.core)
    runner = web.AppRunner(crier.web)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return Served(crier=crier, url=f"http://{host}:{port}", http=http), runner


@pytest.fixture
async def served(
    store: Store, config: CrierConfig, clock: FakeClock, http: aiohttp.ClientSession
) -> AsyncIterator[Served]:
    app, runner = await serve(store, config, clock, http)
    try:
        yield app
    finally:
        await runner.cleanup()


@pytest.fixture
def queue(store: Store, clock: FakeClock) -> Iterator[None]:
    """Approval reminders 5 min late (waiting) and 1 min late (a worker holds it), one not yet
    due, one done; a review reminder 30 s late; and three deliveries."""
    now = clock.now()
    with store.transaction() as session:
        schedule(session, kind=APPROVAL, key="approval:1", due_at=now - timedelta(minutes=5))
        held = schedule(session, kind=APPROVAL, key="approval:2", due_at=now - timedelta(minutes=1))
        held.claimed_by, held.claimed_until = "elsewhere:1", now + timedelta(minutes=2)
        schedule(session, kind=APPROVAL, key="approval:3", due_at=now + timedelta(minutes=10))
        done = schedule(session, kind=APPROVAL, key="approval:4", due_at=now - timedelta(hours=1))
        done.done_at, done.outcome = now - timedelta(minutes=59), "fired"
        schedule(session, kind=REVIEW, key="review:1", due_at=now - timedelta(seconds=30))
        for key, network, state in [
            ("k1", "x", DeliveryState.SENT),
            ("k2", "x", DeliveryState.SENT),
            ("k3", "mastodon", DeliveryState.FAILED),
        ]:
            session.add(Delivery(channel=network, state=state, idempotency_key=key))
    yield


async def test_the_queue_and_the_deliveries_are_read_at_each_scrape(
    served: Served, queue: None, store: Store, clock: FakeClock
) -> None:
    samples = await served.samples()
    assert value(samples, "crier_jobs_due", kind=APPROVAL) == 2  # held or not, not the future
    assert value(samples, "crier_job_oldest_due_seconds", kind=APPROVAL) == 300
    assert value(samples, "crier_jobs_due", kind=REVIEW) == 1
    assert value(samples, "crier_job_oldest_due_seconds", kind=REVIEW) == 30
    # Only the approval reminder no worker holds is waiting: 300 s late.
    lateness = "crier_job_lateness_seconds_bucket"
    assert value(samples, lateness, kind=APPROVAL, le="120.0") == 0
    assert value(samples, lateness, kind=APPROVAL, le="300.0") == 1
    assert value(samples, lateness, kind=APPROVAL, le="+Inf") == 1
    assert value(samples, "crier_job_lateness_seconds_gsum", kind=APPROVAL) == 300
    assert value(samples, lateness, kind=REVIEW, le="30.0") == 1
    assert value(samples, "crier_deliveries", network="x", state="sent") == 2
    assert value(samples, "crier_deliveries", network="mastodon", state="failed") == 1

    # Three minutes on, the held reminder's lease has run out and one more job is due.
    clock.advance(minutes=3)
    with store.transaction() as session:
        schedule(session, kind=REVIEW, key="review:2", due_at=clock.now())
    samples = await served.samples()
    assert value(samples, "crier_job_oldest_due_seconds", kind=APPROVAL) == 480
    assert value(samples, "crier_job_lateness_seconds_bucket", kind=APPROVAL, le="+Inf") == 2
    assert value(samples, "crier_jobs_due", kind=REVIEW) == 2


async def test_an_empty_queue_shows_no_due_jobs(served: Served) -> None:
    samples = await served.samples()
    assert not [name for name, _ in samples if name.startswith("crier_job")]


async def test_acks_to_slack_and_teams_are_timed_by_route(served: Served) -> None:
    async with served.http.post(f"{served.url}/slack/events", data="token=forged") as response:
        assert response.status == 401  # unsigned: refused, and timed all the same
    async with served.http.post(f"{served.url}/api/messages", json={}) as response:
        assert response.status == 404  # Teams is off here
    async with served.http.get(f"{served.url}/healthz") as response:
        assert response.status == 200  # not an ack: not timed
    content_type, body = await served.scrape()
    samples = parse(content_type, body)
    assert value(samples, "crier_ack_seconds_count", route="/slack/events") == 1
    assert value(samples, "crier_ack_seconds_count", route="/api/messages") == 1
    assert value(samples, "crier_ack_seconds_bucket", route="/slack/events", le="+Inf") == 1
    assert {dict(labels).get("route") for _, labels in samples} <= {
        None,
        "/slack/events",
        "/api/messages",
    }
    assert TOKEN not in body and SECRET not in body


async def test_each_app_has_its_own_registry(
    served: Served, store: Store, config: CrierConfig, clock: FakeClock
) -> None:
    other, runner = await serve(store, config, clock, served.http)
    try:
        async with other.http.post(f"{other.url}/api/messages", json={}) as response:
            assert response.status == 404
        assert value(await other.samples(), "crier_ack_seconds_count", route="/api/messages") == 1
        assert (
            value(await served.samples(), "crier_ack_seconds_count", route="/api/messages") is None
        )
    finally:
        await runner.cleanup()


async def test_metrics_are_added_once_per_app(served: Served) -> None:
    first = add_metrics(served.crier.web, served.crier.core)
    assert add_metrics(served.crier.web, served.crier.core) is first
    async with served.http.post(f"{served.url}/api/messages", json={}) as response:
        assert response.status == 404
    assert value(await served.samples(), "crier_ack_seconds_count", route="/api/messages") == 1


async def test_openmetrics_when_the_scraper_asks_for_it(served: Served, queue: None) -> None:
    content_type, body = await served.scrape("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert "# TYPE crier_job_lateness_seconds gaugehistogram" in body
    assert body.endswith("# EOF\n")


def test_a_job_row_is_what_the_queue_metrics_read() -> None:
    # The metrics read these columns; a rename must fail here, not in production dashboards.
    assert {"kind", "due_at", "done_at", "claimed_until"} <= set(Job.model_fields)
    assert {"channel", "state"} <= set(Delivery.model_fields)
