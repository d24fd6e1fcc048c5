"""Fan-out: one approved post to 8 channels, each taking 250 ms at its network.

Crier's real core (``build_core`` with the publishers that ``crier.yml`` and the credentials
build) publishes to fake networks on 127.0.0.1 (port 0) that answer like the real APIs, with
latency. Timed from the approval to the last delivery recorded as sent (``Delivery.sent_at``).

- *slowest single channel*: each channel's post approved on its own; the slowest median.
- *Crier*: all 8 in one approval, published by the core's ``PublishingLoop``.
- *sequential*: the same 8 deliveries, the same claim and publishers, one after the other.

Ratio = wall time ÷ the slowest single channel (goal ≤ 1.2). An API that needs several requests
per post (Instagram: container, status, publish, permalink) gets the 250 ms split over them, so
every channel's post takes 250 ms at the network (``--per-request`` puts 250 ms on each request).

    python -m bench.fanout [--quick] [--rounds 7] [--latency 0.25] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlmodel import select

from bench.crier_setup import analyst, approver, bench_config
from bench.databases import migrated_store, throwaway_database
from bench.figures import (
    backends_argument,
    base_parser,
    chosen_backends,
    median,
    quiet_logs,
    ratio,
    verdict,
)
from bot.config import Network
from bot.core import Core, build_core
from bot.incidents.requests import DeclareRequest
from bot.publishing.credentials import NetworkCredentials
from bot.publishing.loop import PublishingLoop
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from tests.fakes.networks.base import FakeNetwork
from tests.fakes.networks.bluesky import FakeBluesky
from tests.fakes.networks.facebook import FakeGraph
from tests.fakes.networks.instagram import CardServer
from tests.fakes.networks.linkedin import FakeLinkedIn
from tests.fakes.networks.mastodon import FakeMastodon
from tests.fakes.networks.statuspage import FakeStatuspage
from tests.fakes.networks.webhook import FakeWebhook
from tests.fakes.networks.x import FakeX

GOAL = 1.2
# All eight networks: x facebook instagram mastodon bluesky linkedin … (not Crier's own status
# site, which has no network to wait for).
CHANNELS = tuple(n for n in Network if n is not Network.SITE)
SECRETS = {
    "x": "x-user-token",
    "facebook": "fb-page-token",
    "instagram": "ig-token",
    "mastodon": "mastodon-bench-token",
    "bluesky": "abcd-efgh-ijkl-mnop",
    "linkedin": "linkedin-bench-token",
    "statuspage": "sp-bench-key",
    "webhook": "whsec-bench-secret",
}
PAGE_ID, IG_USER, LINKEDIN_ORG, STATUS_PAGE = "1122334455", "17841400000000001", "2414183", "pg1"


class OneAfterAnother(PublishingLoop):
    """The baseline: Crier's own claim and delivery code, one delivery after the other."""

    async def run_once(self) -> int:
        claimed, _ = await self._store.run(self._claim)
        for one in claimed:
            await self._deliver(one)
        return len(claimed)


@dataclass
class Networks:
    """The eight fake networks (and Crier's card server, which Instagram fetches from)."""

    fakes: dict[Network, FakeNetwork]
    cards_url: str
    requests_per_post: dict[Network, int] = field(default_factory=dict)

    def channels(self) -> dict[Network, dict[str, Any]]:
        f = self.fakes
        return {
            Network.X: {"base_url": f[Network.X].base_url, "account": "northfieldit"},
            Network.FACEBOOK: {"base_url": f[Network.FACEBOOK].base_url, "account": PAGE_ID},
            Network.INSTAGRAM: {"base_url": f[Network.INSTAGRAM].base_url, "account": IG_USER},
            Network.MASTODON: {"base_url": f[Network.MASTODON].base_url, "account": "it"},
            Network.BLUESKY: {"base_url": f[Network.BLUESKY].base_url, "account": "it.example.edu"},
            Network.LINKEDIN: {"base_url": f[Network.LINKEDIN].base_url, "account": LINKEDIN_ORG},
            Network.STATUSPAGE: {
                "base_url": f[Network.STATUSPAGE].base_url,
                "account": STATUS_PAGE,
            },
            Network.WEBHOOK: {"url": f"{f[Network.WEBHOOK].base_url}/hooks/crier"},
        }

    def received(self) -> dict[Network, int]:
        return {n: len(fake.received) for n, fake in self.fakes.items()}


def credentials() -> NetworkCredentials:
    s = SECRETS
    return NetworkCredentials(
        X_BEARER_TOKEN=SecretStr(s["x"]),
        FACEBOOK_PAGE_TOKEN=SecretStr(s["facebook"]),
        INSTAGRAM_ACCESS_TOKEN=SecretStr(s["instagram"]),
        MASTODON_ACCESS_TOKEN=SecretStr(s["mastodon"]),
        BLUESKY_APP_PASSWORD=SecretStr(s["bluesky"]),
        LINKEDIN_ACCESS_TOKEN=SecretStr(s["linkedin"]),
        STATUSPAGE_API_KEY=SecretStr(s["statuspage"]),
        WEBHOOK_SECRET=SecretStr(s["webhook"]),
    )


@asynccontextmanager
async def fake_networks(database_url: str) -> AsyncIterator[Networks]:
    s = SECRETS
    fakes: dict[Network, FakeNetwork] = {
        Network.X: FakeX(bearer_token=s["x"]),
        Network.FACEBOOK: FakeGraph(page_id=PAGE_ID, page_token=s["facebook"]),
        Network.INSTAGRAM: FakeGraph(ig_user_id=IG_USER, ig_token=s["instagram"]),
        Network.MASTODON: FakeMastodon(token=s["mastodon"]),
        Network.BLUESKY: FakeBluesky(password=s["bluesky"]),
        Network.LINKEDIN: FakeLinkedIn(token=s["linkedin"], organization=LINKEDIN_ORG),
        Network.STATUSPAGE: FakeStatuspage(api_key=s["statuspage"], page_id=STATUS_PAGE),
        Network.WEBHOOK: FakeWebhook(secret=s["webhook"]),
    }
    async with AsyncExitStack() as stack:
        for fake in fakes.values():
            await stack.enter_async_context(fake)
        cards = await stack.enter_async_context(CardServer(Settings(database_url=database_url)))
        yield Networks(fakes=fakes, cards_url=cards.base_url)


@dataclass
class Bench:
    core: Core
    networks: Networks
    rounds_done: int = 0

    async def publish(self, channels: Sequence[Network], worker: PublishingLoop) -> float:
        """Declare, approve and publish one post; seconds from the approval to the last send."""
        self.rounds_done += 1
        draft = await self.core.declare(
            analyst,
            DeclareRequest(
                service="Blackboard",
                summary=f"students cannot sign in (bench post {self.rounds_done})",
                channels=tuple(channels),
            ),
        )
        approved_at = datetime.now(UTC)
        await self.core.approve(approver, draft.post.id)
        while await worker.run_once():
            pass
        deliveries = await self.core.store.run(
            lambda s: list(s.exec(select(Delivery).where(Delivery.post_id == draft.post.id)))
        )
        unsent = [d for d in deliveries if d.state != DeliveryState.SENT or d.sent_at is None]
        if unsent or len(deliveries) != len(channels):
            problems = "; ".join(f"{d.channel}: {d.state} {d.last_error}" for d in unsent)
            raise RuntimeError(f"not every channel was sent: {problems}")
        last = max(d.sent_at for d in deliveries if d.sent_at is not None)
        return (last - approved_at).total_seconds()


@dataclass(frozen=True)
class FanoutFigures:
    solo: dict[Network, float]  # median seconds, each channel alone
    parallel: float
    sequential: float
    requests_per_post: dict[Network, int]
    latency: dict[Network, float]

    @property
    def slowest(self) -> tuple[Network, float]:
        network = max(self.solo, key=lambda n: self.solo[n])
        return network, self.solo[network]

    @property
    def parallel_ratio(self) -> float:
        return ratio(self.parallel, self.slowest[1])

    @property
    def sequential_ratio(self) -> float:
        return ratio(self.sequential, self.slowest[1])


async def measure(
    *, rounds: int, latency: float, per_request: bool, backend: str, folder: Path
) -> FanoutFigures:
    with throwaway_database(backend, folder=folder) as url:
        store = migrated_store(url)
        try:
            async with fake_networks(url) as networks:
                config = bench_config(networks.channels())
                settings = Settings(database_url=url, public_url=networks.cards_url)
                core = build_core(
                    settings=settings, config=config, store=store, credentials=credentials()
                )
                try:
                    return await _measure(
                        Bench(core, networks),
                        rounds=rounds,
                        latency=latency,
                        per_request=per_request,
                    )
                finally:
                    await core.close()
        finally:
            store.dispose()


async def _measure(
    bench: Bench, *, rounds: int, latency: float, per_request: bool
) -> FanoutFigures:
    core, networks = bench.core, bench.networks
    missing = [n for n in CHANNELS if type(core.publishers[n]).__name__ == "OutboxPublisher"]
    if missing:
        raise RuntimeError(f"these channels fell back to the outbox: {missing}")
    # Warm up without latency: sign-ins (Bluesky), the instance's limit (Mastodon), the
    # component list (Statuspage) and the connection pool; then count requests per post.
    await bench.publish(CHANNELS, core.publishing)
    before = networks.received()
    await bench.publish(CHANNELS, core.publishing)
    after = networks.received()
    per_post = {n: max(1, after[n] - before[n]) for n in CHANNELS}
    delays = {n: latency if per_request else latency / per_post[n] for n in CHANNELS}
    for network, fake in networks.fakes.items():
        fake.latency = delays[network]

    sequential_worker = OneAfterAnother(
        store=core.store,
        config=core.config,
        publishers=core.publishers,
        clock=core.clock,
    )
    solo: dict[Network, list[float]] = {n: [] for n in CHANNELS}
    parallel: list[float] = []
    sequential: list[float] = []
    for _ in range(rounds):  # interleaved, so a slow moment of the machine hits all alike
        for network in CHANNELS:
            solo[network].append(await bench.publish((network,), core.publishing))
        parallel.append(await bench.publish(CHANNELS, core.publishing))
        sequential.append(await bench.publish(CHANNELS, sequential_worker))
    return FanoutFigures(
        solo={n: median(v) for n, v in solo.items()},
        parallel=median(parallel),
        sequential=median(sequential),
        requests_per_post=per_post,
        latency=delays,
    )


def report(figures: FanoutFigures, *, latency: float, per_request: bool, backend: str) -> None:
    each = "each request" if per_request else "each post"
    print(
        f"fanout: one approved post to {len(figures.solo)} channels, {latency * 1000:.0f} ms at "
        f"the network for {each}; {backend}; medians"
    )
    print(f"  {'channel':<11} {'requests/post':>13} {'latency/request':>16} {'alone (s)':>10}")
    for network, seconds in figures.solo.items():
        print(
            f"  {network.value:<11} {figures.requests_per_post[network]:>13} "
            f"{figures.latency[network] * 1000:>13.1f} ms {seconds:>10.3f}"
        )
    slowest, slowest_s = figures.slowest
    print(f"slowest single channel: {slowest_s:.3f} s ({slowest.value})")
    print(
        f"Crier (parallel): wall {figures.parallel:.3f} s, ratio {figures.parallel_ratio:.2f} "
        f"(goal <= {GOAL}: {verdict(figures.parallel_ratio, GOAL)})"
    )
    print(
        f"sequential:       wall {figures.sequential:.3f} s, ratio {figures.sequential_ratio:.2f}"
    )


def main(argv: list[str] | None = None) -> dict[str, FanoutFigures]:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "fanout")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 7; quick 3)")
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per post")
    parser.add_argument("--per-request", action="store_true", help="latency on every request")
    backends_argument(parser)
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    rounds = args.rounds or (3 if args.quick else 7)
    results: dict[str, FanoutFigures] = {}
    for backend in chosen_backends(args):
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="crier-fanout-") as folder:
            results[backend] = asyncio.run(
                measure(
                    rounds=rounds,
                    latency=args.latency,
                    per_request=args.per_request,
                    backend=backend,
                    folder=Path(folder),
                )
            )
        report(
            results[backend], latency=args.latency, per_request=args.per_request, backend=backend
        )
        print(f"({rounds} rounds in {time.monotonic() - started:.0f} s)")
    return results


if __name__ == "__main__":
    main()
