"""``GET /metrics``: what Crier is doing, in Prometheus' text format.

Read-only, and without secrets or any text of a post: counts, ages and timings only. It is not
authenticated, so keep it internal (behind the load balancer, not routed from the internet)::

    crier = build_crier(settings=settings, config=config, store=store)
    add_metrics(crier.web, crier.core)  # before the app starts

Each app's metrics are in no registry but the one each of its scrapes gathers (never
prometheus_client's global one), so tests that build many apps, or one process serving two, do
not collide. What the tables say (the job queue,
the deliveries) is read at each scrape, in one short read off the event loop; the ack latency
is measured as requests are answered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from bot.core import Core
from bot.storage.models import Delivery, Job

# The requests whose answer Slack or Teams waits for (Slack gives up after 3 s).
ACK_ROUTES = frozenset({"/slack/events", "/api/messages"})
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
# How late a due job waits for a worker: reminders are promised to the minute.
LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


def read_tables(session: Session, *, now: datetime) -> list[Metric]:
    """The job queue and the deliveries as they are ``now``: due jobs per kind, how late the due
    jobs no worker holds are (a handful, unless the workers are down: that is what the lateness
    shows), and deliveries per network and state."""
    due = GaugeMetricFamily(
        "crier_jobs_due", "Jobs due now or before and not done, per kind.", labels=["kind"]
    )
    oldest = GaugeMetricFamily(
        "crier_job_oldest_due_seconds",
        "How long ago the oldest due job that is not done came due, per kind.",
        labels=["kind"],
        unit="seconds",
    )
    lateness = GaugeHistogramMetricFamily(
        "crier_job_lateness_seconds",
        "How late the due jobs that no worker holds are, per kind (reminders are remind_*).",
        labels=["kind"],
        unit="seconds",
    )
    deliveries = GaugeMetricFamily(
        "crier_deliveries",
        "Deliveries per network and state (sent and failed ones stay counted).",
        labels=["network", "state"],
    )
    is_due = col(Job.done_at).is_(None) & (col(Job.due_at) <= now)
    # A lapsed lease counts as no worker's.
    unheld = or_(col(Job.claimed_until).is_(None), col(Job.claimed_until) < now)
    waiting: dict[str, list[float]] = {}
    for kind, due_at in session.exec(select(col(Job.kind), col(Job.due_at)).where(is_due, unheld)):
        waiting.setdefault(kind, []).append(_age(due_at, now))
    for kind, count, oldest_due_at in session.exec(
        select(col(Job.kind), func.count(), func.min(col(Job.due_at)))
        .where(is_due)
        .group_by(Job.kind)
    ):
        late = waiting.get(kind, [])
        buckets = [(str(le), float(sum(1 for v in late if v <= le))) for le in LATENESS_BUCKETS]
        due.add_metric([kind], count)
        oldest.add_metric([kind], _age(oldest_due_at, now))
        lateness.add_metric([kind], [*buckets, ("+Inf", float(len(late)))], sum(late))
    for network, state, count in session.exec(
        select(col(Delivery.channel), col(Delivery.state), func.count()).group_by(
            Delivery.channel, Delivery.state
        )
    ):
        deliveries.add_metric([network, state], count)
    return [due, oldest, lateness, deliveries]


def _age(then: datetime, now: datetime) -> float:
    # SQLite hands back naive UTC from an aggregate.
    aware = then if then.tzinfo is not None else then.replace(tzinfo=UTC)
    return max((now - aware).total_seconds(), 0.0)


@dataclass(eq=False)  # the registry keeps its collectors in a dict
class Read(Collector):
    """The families one scrape read from the tables."""

    families: list[Metric]

    def collect(self) -> list[Metric]:
        return self.families


class Metrics:
    """One app's metrics: its registry, the ack latency, and the ``/metrics`` handler."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self.ack_seconds = Histogram(
            "crier_ack_seconds",
            "Time to answer a request from Slack (POST /slack/events) or Teams "
            "(POST /api/messages).",
            labelnames=["route"],
            buckets=ACK_BUCKETS,
            registry=None,  # each scrape gathers it, with the tables, in a registry of its own
        )

    @web.middleware
    async def measure_acks(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Time each answer to Slack or Teams, whatever it is (an error too)."""
        if request.method != hdrs.METH_POST or request.path not in ACK_ROUTES:
            return await handler(request)
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            self.ack_seconds.labels(route=request.path).observe(time.perf_counter() - started)

    async def scrape(self, request: web.Request) -> web.Response:
        """``GET /metrics``: Prometheus' text format, or OpenMetrics when the scraper asks."""
        now = self._core.clock.now()
        families = await self._core.store.read(lambda s: read_tables(s, now=now))
        scrape = CollectorRegistry()
        scrape.register(self.ack_seconds)
        scrape.register(Read(families))
        encode, content_type = choose_encoder(request.headers.get(hdrs.ACCEPT, ""))
        body = encode(scrape)
        return web.Response(body=body, headers={hdrs.CONTENT_TYPE: content_type})


METRICS_KEY = web.AppKey("metrics", Metrics)


def add_metrics(app: web.Application, core: Core) -> Metrics:
    """Serve ``GET /metrics`` on ``app`` and time its Slack and Teams answers; call it before
    the app starts (its middlewares and routes are frozen then). Once per app: a second call
    returns the first one's ``Metrics``."""
    if METRICS_KEY in app:
        return app[METRICS_KEY]
    metrics = Metrics(core)
    app[METRICS_KEY] = metrics
    app.middlewares.append(metrics.measure_acks)
    app.router.add_get("/metrics", metrics.scrape)
    return metrics
