"""Rate limit: 300 approved posts to a fake X that allows 50 posts per 15-second window.

300 incidents are declared and approved through Crier's core with X the only channel; then the
core's own ``PublishingLoop.run_forever`` (as ``crier serve`` runs it) publishes them. The fake X
answers the 51st post of a window with 429 and ``x-rate-limit-reset``; its windows start on a
whole unix second, from the first post (``FakeX.window_start``).

- theoretical minimum: the last window opens no sooner than
  ``window_start + (ceil(posts / limit) - 1) * window``, counted from when publishing started;
- total: from the start of publishing to the last post X accepted;
- ratio = total ÷ minimum (goal ≤ 1.1); duplicates and lost posts are counted from what the
  fake X received, and must be 0.

    python -m bench.ratelimit [--quick] [--posts 300] [--limit 50] [--window 15]
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import func
from sqlmodel import select

from bench.crier_setup import analyst, approver, bench_config
from bench.databases import migrated_store, throwaway_database
from bench.figures import (
    backends_argument,
    base_parser,
    chosen_backends,
    quiet_logs,
    ratio,
    verdict,
)
from bot.config import Network
from bot.core import Core, build_core
from bot.incidents.requests import DeclareRequest
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState
from tests.fakes.networks.x import FakeX

GOAL = 1.1
TOKEN = "x-user-token"


@dataclass(frozen=True)
class WindowFigures:
    index: int
    accepted: int
    first_after_open: float  # seconds from the window's opening (the first: from the start)


@dataclass(frozen=True)
class RateLimitFigures:
    posts: int
    limit: int
    window: float
    approve_seconds: float
    total: float
    minimum: float
    sent: int
    duplicates: int
    lost: int
    failed: int
    requests: int
    refused_429: int
    max_attempts: int
    windows: tuple[WindowFigures, ...]

    @property
    def ratio(self) -> float:
        return ratio(self.total, self.minimum)


async def approve_posts(core: Core, count: int) -> list[str]:
    """Declare and approve ``count`` incidents (X only); returns their distinct summaries."""
    summaries = []
    for number in range(1, count + 1):
        summary = f"students cannot sign in (bench post {number} of {count})"
        draft = await core.declare(
            analyst,
            DeclareRequest(service="Blackboard", summary=summary, channels=(Network.X,)),
        )
        await core.approve(approver, draft.post.id)
        summaries.append(summary)
    await core.settle()
    return summaries


def _unfinished(core: Core) -> int:
    with core.store.transaction() as session:
        return session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.state.in_(  # type: ignore[attr-defined]
                    [DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.RETRYING]
                )
            )
        ).one()


async def measure(*, posts: int, limit: int, window: float, backend: str) -> RateLimitFigures:
    with (
        tempfile.TemporaryDirectory(prefix="crier-ratelimit-") as folder,
        throwaway_database(backend, folder=Path(folder)) as url,
    ):
        store = migrated_store(url)
        try:
            async with FakeX(bearer_token=TOKEN, window_limit=limit, window_seconds=window) as fake:
                assert isinstance(fake, FakeX)
                config = bench_config({Network.X: {"base_url": fake.base_url}})
                core = build_core(
                    settings=Settings(database_url=url),
                    config=config,
                    store=store,
                    credentials=NetworkCredentials(X_BEARER_TOKEN=SecretStr(TOKEN)),
                )
                try:
                    return await _measure(core, fake, posts=posts, limit=limit, window=window)
                finally:
                    await core.close()
        finally:
            store.dispose()


async def _measure(
    core: Core, fake: FakeX, *, posts: int, limit: int, window: float
) -> RateLimitFigures:
    began = time.monotonic()
    summaries = await approve_posts(core, posts)
    approve_seconds = time.monotonic() - began

    windows_needed = math.ceil(posts / limit)
    stop = asyncio.Event()
    started = time.time()
    worker = asyncio.create_task(core.publishing.run_forever(stop))
    deadline = time.monotonic() + 3 * windows_needed * window + 60
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            if not await asyncio.to_thread(_unfinished, core):
                break  # every delivery is sent, or failed for good (counted below)
        else:
            raise RuntimeError(f"gave up: {len(fake.tweets)} of {posts} posts after the deadline")
    finally:
        stop.set()
        await worker

    accepted_at = sorted(t["at"] for t in fake.tweets.values())
    assert fake.window_start is not None
    # The fake reports its current window; the first one (which the first post fell in)
    # opened a whole number of windows earlier.
    first_open = fake.window_start - window * math.ceil(
        (fake.window_start - accepted_at[0]) / window
    )
    minimum = first_open + (windows_needed - 1) * window - started
    texts = Counter(t["text"] for t in fake.tweets.values())
    posted = [next((s for s in summaries if s in text), None) for text in texts.elements()]
    per_summary = Counter(p for p in posted if p is not None)
    deliveries = await core.store.run(lambda s: list(s.exec(select(Delivery))))
    per_window: dict[int, list[float]] = {}
    for at in accepted_at:
        per_window.setdefault(int((at - first_open) // window), []).append(at)
    return RateLimitFigures(
        posts=posts,
        limit=limit,
        window=window,
        approve_seconds=approve_seconds,
        total=accepted_at[-1] - started,
        minimum=minimum,
        sent=sum(d.state == DeliveryState.SENT for d in deliveries),
        duplicates=sum(n - 1 for n in per_summary.values() if n > 1),
        lost=sum(1 for s in summaries if per_summary[s] == 0),
        failed=sum(d.state in (DeliveryState.FAILED, DeliveryState.UNKNOWN) for d in deliveries),
        requests=sum(r.path == "/2/tweets" for r in fake.received),
        refused_429=fake.rate_limited,
        max_attempts=max(d.attempts for d in deliveries),
        windows=tuple(
            WindowFigures(
                index,
                len(times),
                times[0] - (started if index == 0 else first_open + index * window),
            )
            for index, times in sorted(per_window.items())
        ),
    )


def report(figures: RateLimitFigures, backend: str) -> None:
    f = figures
    print(
        f"ratelimit: {f.posts} approved posts to a fake X allowing {f.limit} per "
        f"{f.window:g} s; {backend} (approving them took {f.approve_seconds:.1f} s, not timed)"
    )
    for w in f.windows:
        since = "publishing started" if w.index == 0 else "the window opened (its reset)"
        print(
            f"  window {w.index + 1}: {w.accepted:>4} accepted, the first "
            f"{w.first_after_open:.2f} s after {since}"
        )
    outcome = verdict(f.ratio, GOAL) if f.sent == f.posts else "FAILED: not every post went out"
    print(
        f"theoretical minimum {f.minimum:.2f} s; Crier {f.total:.2f} s; ratio {f.ratio:.3f} "
        f"(goal <= {GOAL}: {outcome})"
    )
    print(
        f"sent {f.sent}/{f.posts}, duplicates {f.duplicates}, lost {f.lost}, failed {f.failed}; "
        f"{f.requests} requests to X, {f.refused_429} answered 429; "
        f"most attempts for one post {f.max_attempts}"
    )


def main(argv: list[str] | None = None) -> dict[str, RateLimitFigures]:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "ratelimit")
    parser.add_argument("--posts", type=int, default=None, help="posts (default 300; quick 150)")
    parser.add_argument("--limit", type=int, default=50, help="posts allowed per window")
    parser.add_argument("--window", type=float, default=None, help="seconds (15; quick 3)")
    backends_argument(parser, default="sqlite")
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    posts = args.posts or (150 if args.quick else 300)
    window = args.window or (3.0 if args.quick else 15.0)
    results = {}
    for backend in chosen_backends(args):
        results[backend] = asyncio.run(
            measure(posts=posts, limit=args.limit, window=window, backend=backend)
        )
        report(results[backend], backend)
    return results


if __name__ == "__main__":
    main()
