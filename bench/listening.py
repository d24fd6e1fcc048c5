"""Listening: 100 open posts watched on 4 networks, within each network's documented limits.

Crier's real core (``build_core`` with the publishers and reading sources that ``crier.yml`` and
the credentials build) publishes 25 incidents to Mastodon, Bluesky, Facebook and X — four fake
networks on 127.0.0.1 (port 0) — and then listens to the 100 posts (``listening.every_minutes``
= 1, one watched term, X with ``channels.x.monthly_read_budget``). Each fake counts reads in
windows of its network's documented limit and answers 429 past it: Mastodon 300 / 5 min per
account, Bluesky's AppView 3,000 / 5 min, Graph 200 calls / hour per user, X recent search
60 / 15 min and, apart from it as X counts them, X's mentions timeline 10 / 15 min per user
(Basic, the lowest paid tier). X's mentions are reported as their own row, "x mentions".

*budget*: the fakes and Crier on a ``FakeClock`` moved a minute at a time, ``--hours`` of polls
with ``--replies`` replies a minute on random posts. Per network (and X's mentions apart): the
most reads the fake saw in any window of the documented length (sliding: stricter than the
networks' fixed windows) against the limit (goal ≤ 1.0) and 429s (must be 0); fairness: the
longest run of polls in which a watched post (or the mentions) was not read, against one budget
window of polls (least recently read first should reach every post once a window); and how long
a reply waited to be shown (fake minutes). X: the posts read, and how long
``monthly_read_budget`` lasts at that pace.

*latency*: a fresh database and fakes on the real clock, ``crier serve``'s scheduler
(``run_forever``), replies added at random moments for ``--seconds``; time from ``add_reply`` on
the fake to ``show_heard`` at a chat double (``time.monotonic``), against one interval + 2 s.
``every_minutes`` cannot go under 1 (crier.yml), so this phase takes real minutes.

    python -m bench.listening [--quick] [--hours 2] [--replies 4] [--seconds 150]
                              [--backends sqlite,postgresql]
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import random
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr
from sqlmodel import col, select

from bench.crier_setup import analyst, approver, bench_config_raw
from bench.databases import migrated_store, throwaway_database
from bench.figures import (
    backends_argument,
    base_parser,
    busiest_window,
    chosen_backends,
    percentile,
    quiet_logs,
)
from bot.config import CrierConfig, Network
from bot.core import Core, build_core
from bot.incidents.requests import DeclareRequest
from bot.listening.budgets import BUDGETS, OWN_BUDGETS
from bot.listening.poller import start_polling
from bot.ports import Clock, SystemClock
from bot.publishing.credentials import NetworkCredentials
from bot.settings import Settings
from bot.storage.models import Delivery, DeliveryState, ListenMark
from tests.clock import FakeClock
from tests.fakes.networks.bluesky import FakeBluesky
from tests.fakes.networks.facebook import FakeGraph
from tests.fakes.networks.mastodon import FakeMastodon
from tests.fakes.networks.x import FakeX

NETWORKS = (Network.MASTODON, Network.BLUESKY, Network.FACEBOOK, Network.X)
# The documented limits, (reads, window in seconds): Mastodon per account, Bluesky's AppView,
# Graph per user, X's recent search on Basic (its lowest paid tier).
LIMITS = {
    Network.MASTODON: (300, 300.0),
    Network.BLUESKY: (3000, 300.0),
    Network.FACEBOOK: (200, 3600.0),
    Network.X: (60, 900.0),
}
# Endpoints a network counts against a limit of their own, by (network, what the poller calls
# the ask): how their paths end and their documented limit. X's mentions timeline on Basic:
# 10 / 15 min per user, apart from recent search's 60.
APART = {(Network.X, "mentions"): ("/mentions", 10, 900.0)}
# The fakes' read endpoints, by how their paths end.
READS = {
    Network.MASTODON: ("/context", "/notifications", "/api/v2/search"),
    Network.BLUESKY: ("getPostThread", "searchPosts", "listNotifications"),
    Network.FACEBOOK: ("/comments", "/"),  # "/": Graph's multiple-id read (``?ids=``)
    Network.X: ("/search/recent", "/mentions"),
}
INCIDENTS = 25  # on 4 networks = 100 watched posts
INTERVAL_MINUTES = 1  # listening.every_minutes (its floor in crier.yml)
SLACK = 2.0  # seconds: the latency bound is one interval plus this
MONTHLY_READ_BUDGET = 10_000  # X posts a month (X bills each read)
TERM = "Northfield"  # listening.terms: one search a poll per network
TOKENS = {"mastodon": "mastodon-bench-token", "bluesky": "abcd-efgh-ijkl-mnop"}
PAGE_ID = "1122334455"
SERVICES = ("Blackboard", "Wi-Fi", "VPN", "Email", "Student Portal")
_TAG = re.compile(r"\br(\d+)\b")


def read_of(network: Network, method: str, path_qs: str) -> tuple[str, ...] | None:
    """What a request reads: the watched posts' ids (several for X's OR'ed conversations and
    Graph's multiple-id read), ("",) for mentions or a search, None if no read."""
    parts = urlsplit(path_qs)
    path, query = parts.path, parse_qs(parts.query)
    if method != "GET" or not path.endswith(READS[network]):
        return None
    if network is Network.MASTODON and path.endswith("/context"):
        return (path.split("/")[-2],)
    if network is Network.BLUESKY and path.endswith("getPostThread"):
        return (query.get("uri", [""])[0],)
    if network is Network.FACEBOOK:
        if path.endswith("/comments"):
            return (path.split("/")[-2],)
        listed = query.get("ids", [""])[0]
        return tuple(listed.split(",")) if listed else None
    text = query.get("query", [""])[0] if network is Network.X else ""
    ids = tuple(re.findall(r"conversation_id:(\d+)", text))
    return ids or ("",)


class Chat:
    """A chat double: notes when each tagged reply is shown, on both clocks; shows nothing."""

    platform = "bench"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.shown: dict[int, tuple[float, float]] = {}  # tag -> (monotonic, clock seconds)
        self.changed = asyncio.Event()

    async def show_heard(self, incident: Any, batch: Any) -> None:
        for item in batch.items:
            if (match := _TAG.search(item.text)) is not None:
                moment = (time.monotonic(), self.clock.now().timestamp())
                self.shown.setdefault(int(match.group(1)), moment)
        self.changed.set()

    def __getattr__(self, name: str) -> Callable[..., Awaitable[None]]:
        async def nothing(*_: object, **__: object) -> None:  # show_post, remind, …
            return None

        if name.startswith(("show_", "remind")):
            return nothing
        raise AttributeError(name)


@dataclass
class Fakes:
    by_network: dict[Network, Any]
    reads: dict[Network, list[tuple[float, str]]] = field(default_factory=dict)

    def channels(self) -> dict[Network, dict[str, Any]]:
        url = {n: fake.base_url for n, fake in self.by_network.items()}
        return {
            Network.MASTODON: {"base_url": url[Network.MASTODON], "account": "it"},
            Network.BLUESKY: {
                **{"base_url": url[Network.BLUESKY], "appview_url": url[Network.BLUESKY]},
                "account": "it.example.edu",
            },
            Network.FACEBOOK: {"base_url": url[Network.FACEBOOK], "account": PAGE_ID},
            Network.X: {
                **{"base_url": url[Network.X], "account": "northfieldit"},
                "monthly_read_budget": MONTHLY_READ_BUDGET,
            },
        }

    def count_reads(self, network: Network) -> None:
        """Note each read request on the fake's clock before the fake answers (or refuses) it."""
        fake, log = self.by_network[network], self.reads.setdefault(network, [])
        answer = fake.before

        async def before(request: Any) -> Any:
            if read_of(network, request.method, request.path_qs) is not None:
                log.append((fake.now(), request.path_qs))
            return await answer(request)

        fake.before = before


def start_fakes(now: Callable[[], float]) -> Fakes:
    """The four fakes, each refusing reads past its network's documented limit."""
    made: dict[Network, Callable[..., Any]] = {
        Network.MASTODON: partial(FakeMastodon, token=TOKENS["mastodon"]),
        Network.BLUESKY: partial(FakeBluesky, password=TOKENS["bluesky"]),
        Network.FACEBOOK: partial(FakeGraph, page_id=PAGE_ID),
        Network.X: partial(
            FakeX,
            mentions_limit=APART[Network.X, "mentions"][1],
            mentions_window=APART[Network.X, "mentions"][2],
        ),
    }
    fakes = Fakes(
        {
            n: make(now=now, read_limit=LIMITS[n][0], read_window=LIMITS[n][1])
            for n, make in made.items()
        }
    )
    for network in NETWORKS:
        fakes.count_reads(network)
    return fakes


@dataclass
class Listened:
    """One core listening to 100 posts on the fakes, and the replies added so far."""

    core: Core
    fakes: Fakes
    chat: Chat
    posts: list[tuple[Network, str]]  # (network, external id) of each watched post
    rng: random.Random
    added: dict[int, tuple[Network, float, float]] = field(default_factory=dict)

    def reply(self) -> None:
        """A reply, tagged r<n>, to a random watched post, dated now."""
        network, post = self.rng.choice(self.posts)
        tag = len(self.added) + 1
        text, who = f"r{tag} still down here, any news?", f"person{tag % 97}"
        at = self.core.clock.now()
        fake = self.fakes.by_network[network]
        if network is Network.MASTODON:
            fake.add_reply(post, text, author=f"{who}@example.social", at=at)
        elif network is Network.BLUESKY:
            fake.add_reply(post, text, author=f"{who}.bsky.social", at=at)
        elif network is Network.FACEBOOK:
            fake.add_comment(post, text, author=who.title(), at=at)
        else:
            fake.add_reply(post, text, username=who, at=at)
        self.added[tag] = (network, time.monotonic(), at.timestamp())


@asynccontextmanager
async def listening(url: str, clock: Clock, now: Callable[[], float], seed: int) -> Any:
    """The fakes, and a core that has published 25 incidents on all four and listens to them."""
    fakes = start_fakes(now)
    async with AsyncExitStack() as stack:
        for fake in fakes.by_network.values():
            await stack.enter_async_context(fake)
        store = migrated_store(url)
        stack.callback(store.dispose)
        raw = bench_config_raw(fakes.channels())
        raw["listening"] = {
            **{"every_minutes": INTERVAL_MINUTES, "networks": [n.value for n in NETWORKS]},
            "terms": [TERM],
            "burst": 50,  # every reply shown one by one, so the chat double sees each tag
        }
        chat = Chat(clock)
        core = build_core(
            settings=Settings(database_url=url, declarations_per_minute=1000),
            config=CrierConfig.model_validate(raw),
            store=store,
            clock=clock,
            credentials=NetworkCredentials(
                X_BEARER_TOKEN=SecretStr("x-user-token"),
                FACEBOOK_PAGE_TOKEN=SecretStr("fb-page-token"),
                MASTODON_ACCESS_TOKEN=SecretStr(TOKENS["mastodon"]),
                BLUESKY_APP_PASSWORD=SecretStr(TOKENS["bluesky"]),
            ),
            presenters={"bench": chat},  # type: ignore[dict-item]
        )
        stack.push_async_callback(core.close)
        for n in range(INCIDENTS):
            request = DeclareRequest(
                service=SERVICES[n % len(SERVICES)],
                summary=f"cannot sign in (listening bench {n + 1})",
                channels=NETWORKS,
            )
            draft = await core.declare(analyst, request)
            await core.approve(approver, draft.post.id)
            if isinstance(clock, FakeClock):  # declared over time: Bluesky keys posts by it
                clock.advance(seconds=30)
        while await core.publishing.run_once():
            pass
        rows = await store.read(lambda s: list(s.exec(select(Delivery).order_by(col(Delivery.id)))))
        sent = [(Network(d.channel), d.external_id or "") for d in rows if d.external_id]
        if len(sent) != INCIDENTS * len(NETWORKS) or len(core.listening.networks) != 4:
            problems = {d.channel: d.last_error for d in rows if d.state != DeliveryState.SENT}
            raise RuntimeError(f"{len(sent)} posts sent, {core.listening.networks}: {problems}")
        start_polling(store, config=core.config, networks=core.listening.networks, now=clock.now())
        yield Listened(core, fakes, chat, sent, random.Random(seed))


@dataclass(frozen=True)
class NetworkFigures:
    network: Network
    endpoint: str  # "": the network's limit; else an endpoint counted apart ("mentions")
    limit: tuple[int, float]  # documented: (reads, window in seconds)
    reads: int
    busiest: int  # most reads in any window of the documented length
    refused: int  # 429s (Graph: code 4)
    unread: int  # the most polls in a row a watched post went unread
    never_read: int
    waited: list[float]  # reply -> shown, fake minutes (those never shown: until the end)
    unshown: int
    per_sweep: float  # requests that read every watched post once (posts ÷ posts a request)


@dataclass(frozen=True)
class BudgetFigures:
    hours: float
    replies: int
    seconds: float  # real time the polls took
    networks: list[NetworkFigures]
    x_posts_read: int  # served by the fake
    x_counted: int  # as Crier counts them against the monthly budget


async def measure_budget(url: str, *, hours: float, replies: float, seed: int) -> BudgetFigures:
    clock = FakeClock()
    async with listening(url, clock, lambda: clock.now().timestamp(), seed) as bench:
        core = bench.core
        began, start = time.monotonic(), clock.now().timestamp()
        polls, owed = round(hours * 60 / INTERVAL_MINUTES), 0.0
        for _ in range(polls):
            owed += replies * INTERVAL_MINUTES
            while owed >= 1:  # the replies that came during the last interval
                owed -= 1
                bench.reply()
            while await core.scheduler.run_once():  # the polls due, then the showing
                pass
            await core.settle()
            clock.advance(minutes=INTERVAL_MINUTES)
        took = time.monotonic() - began
        month = f"x:reads:{clock.now():%Y-%m}"
        mark = await core.store.read(lambda s: s.get(ListenMark, month))
        return BudgetFigures(
            hours=hours,
            replies=len(bench.added),
            seconds=took,
            networks=[
                *(network_figures(bench, n, start=start, polls=polls) for n in NETWORKS),
                *(endpoint_figures(bench, n, what, start=start, polls=polls) for n, what in APART),
            ],
            x_posts_read=bench.fakes.by_network[Network.X].posts_read,
            x_counted=int(mark.cursor or 0) if mark is not None else 0,
        )


def apart(network: Network, path_qs: str) -> str:
    """The endpoint counted apart that a read request goes to, or "" (the network's limit)."""
    path = urlsplit(path_qs).path
    return next(
        (w for (n, w), (end, *_) in APART.items() if n is network and path.endswith(end)), ""
    )


def refused(fake: Any, endpoint: str = "") -> int:
    """The 429s a fake answered for the network's limit, or for an endpoint counted apart."""
    return int(fake.mention_reads.refused if endpoint == "mentions" else fake.reads.refused)


def longest_unread(polls_read: set[int], polls: int) -> int:
    edges = [-1, *sorted(polls_read), polls]  # before the first, after the last
    return max(b - a - 1 for a, b in itertools.pairwise(edges))


def endpoint_figures(
    bench: Listened, network: Network, endpoint: str, *, start: float, polls: int
) -> NetworkFigures:
    """An endpoint counted apart (X's mentions): its reads against its own limit."""
    _, limit, window = APART[network, endpoint]
    step = INTERVAL_MINUTES * 60
    reads = [t for t, q in bench.fakes.reads[network] if apart(network, q) == endpoint]
    read_in = {round((moment - start) / step) for moment in reads}
    return NetworkFigures(
        network=network,
        endpoint=endpoint,
        limit=(limit, window),
        reads=len(reads),
        busiest=busiest_window(reads, window)[0],
        refused=refused(bench.fakes.by_network[network], endpoint),
        unread=longest_unread(read_in, polls),
        never_read=int(not reads),
        waited=[],
        unshown=0,
        per_sweep=0.0,
    )


def network_figures(
    bench: Listened, network: Network, *, start: float, polls: int
) -> NetworkFigures:
    """A network's reads against its limit (those of endpoints counted apart left out)."""
    reads = [(t, q) for t, q in bench.fakes.reads[network] if not apart(network, q)]
    step = INTERVAL_MINUTES * 60
    read_in: dict[str, set[int]] = {}
    together = [len(t) for _, q in reads if (t := read_of(network, "GET", q)) and t != ("",)]
    watched = sum(1 for n, _ in bench.posts if n is network)
    per_sweep = watched * len(together) / max(sum(together), 1)
    for moment, path_qs in reads:
        for target in read_of(network, "GET", path_qs) or ():  # "": mentions, search
            read_in.setdefault(target, set()).add(round((moment - start) / step))
    unread, never = 0, 0
    # "": the mentions and the search, except on Graph, which offers neither (nothing is asked).
    mentions = [""] if network is not Network.FACEBOOK else []
    for post in [*mentions, *(post for n, post in bench.posts if n is network)]:
        never += not read_in.get(post)
        unread = max(unread, longest_unread(read_in.get(post, set()), polls))
    waited, unshown, end = [], 0, start + polls * step
    for tag, (where, _, at) in bench.added.items():
        if where is network:
            shown = bench.chat.shown.get(tag)
            waited.append(((shown[1] if shown else end) - at) / 60)
            unshown += shown is None
    return NetworkFigures(
        network=network,
        endpoint="",
        limit=LIMITS[network],
        reads=len(reads),
        busiest=busiest_window([t for t, _ in reads], LIMITS[network][1])[0],
        refused=refused(bench.fakes.by_network[network]),
        unread=unread,
        never_read=never,
        waited=waited,
        unshown=unshown,
        per_sweep=per_sweep,
    )


@dataclass(frozen=True)
class LatencyFigures:
    seconds: float  # replies were added over this long
    took: float  # the phase: until every reply was shown, or the deadline
    per_network: dict[Network, tuple[int, list[float]]]  # replies added, their latencies (s)
    refused: int


async def measure_latency(url: str, *, seconds: float, seed: int) -> LatencyFigures:
    clock = SystemClock()
    async with listening(url, clock, time.time, seed) as bench:
        stop, began = asyncio.Event(), time.monotonic()
        running = asyncio.create_task(bench.core.scheduler.run_forever(stop))
        for moment in sorted(bench.rng.uniform(0, seconds) for _ in range(int(seconds / 3) + 1)):
            await asyncio.sleep(max(0.0, began + moment - time.monotonic()))
            bench.reply()
        deadline = began + seconds + INTERVAL_MINUTES * 60 + SLACK + 3
        while len(bench.chat.shown) < len(bench.added) and time.monotonic() < deadline:
            bench.chat.changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(bench.chat.changed.wait(), deadline - time.monotonic())
        stop.set()
        await running
        per: dict[Network, tuple[int, list[float]]] = {n: (0, []) for n in NETWORKS}
        for tag, (network, added, _) in bench.added.items():
            count, latencies = per[network]
            if tag in bench.chat.shown:
                latencies.append(bench.chat.shown[tag][0] - added)
            per[network] = (count + 1, latencies)
        refused_all = [refused(fake) for fake in bench.fakes.by_network.values()]
        refused_all += [refused(bench.fakes.by_network[n], what) for n, what in APART]
        return LatencyFigures(seconds, time.monotonic() - began, per, sum(refused_all))


def report_budget(f: BudgetFigures, backend: str) -> list[str]:
    print(
        f"listening, budget: {INCIDENTS} incidents on {len(NETWORKS)} networks = "
        f"{INCIDENTS * len(NETWORKS)} posts, 1 term, every {INTERVAL_MINUTES} min; {f.hours:g} h "
        f"of polls on a fake clock in {f.seconds:.0f} s; {f.replies} replies; {backend}"
    )
    print(
        f"  {'network':<12}{'limit':>14}{'Crier':>10}{'reads':>7}{'busiest':>8}{'ratio':>7}"
        f"{'429s':>5}{'unread':>7}{'goal':>5}{'reply wait p50/max':>20}"
    )
    over: list[str] = []
    for n in f.networks:
        (limit, window), share = n.limit, n.busiest / n.limit[0]
        budget, budget_window = OWN_BUDGETS.get((n.network, n.endpoint)) or BUDGETS[n.network]
        goal = round(window / 60 / INTERVAL_MINUTES)
        name = f"{n.network.value} {n.endpoint}".strip()
        longest = f"{'>' if n.unshown else ''}{max(n.waited, default=math.nan):.0f}"
        wait = f"{percentile(n.waited, 50):.0f} / {longest} min" if n.waited else "-"
        print(
            f"  {name:<12}{f'{limit} / {window / 60:g} min':>14}"
            f"{f'{budget} / {budget_window.total_seconds() / 60:g}':>10}{n.reads:>7}"
            f"{n.busiest:>8}{share:>7.2f}{n.refused:>5}{n.unread:>7}{goal:>5}{wait:>20}"
        )
        if not n.endpoint:
            print(f"    {n.per_sweep:.1f} request(s) read every watched post once (a sweep)")
        if n.never_read or n.unshown:
            print(
                f"    {n.never_read} post(s) never read, {n.unshown} reply(ies) unshown at the end"
            )
        if share > 1.0 or n.refused:
            over.append(f"{name} over its limit")
        if n.never_read or n.unread > goal:
            over.append(f"{name} left a post unread {n.unread} polls")
    print(
        f"  x: {f.x_counted} posts read as Crier counts them ({f.x_posts_read} served by the "
        f"fake), {f.x_counted / f.hours:.1f} an hour; the monthly budget {MONTHLY_READ_BUDGET:,} "
        f"is {MONTHLY_READ_BUDGET / (30 * 24):.1f} an hour: it lasts "
        f"{MONTHLY_READ_BUDGET / max(f.x_counted / f.hours, 1e-9) / 24:.0f} days at this pace "
        "(then Crier stops reading X)"
    )
    print(
        "  limit: documented (X: recent search, and its mentions timeline apart, on Basic, the "
        "lowest paid tier); Crier: its own budget (bot/listening/poller.py); busiest: most reads "
        "in any window of the limit's "
        "length; unread: most polls in a row a watched post (or the mentions) went unread "
        "(goal: one window)"
    )
    return over


def report_latency(f: LatencyFigures, backend: str) -> list[str]:
    bound = INTERVAL_MINUTES * 60 + SLACK
    print(
        f"listening, latency: real clock, every {INTERVAL_MINUTES} min, replies over "
        f"{f.seconds:.0f} s (phase {f.took:.0f} s); add_reply -> show_heard, bound {bound:g} s; "
        f"{backend}"
    )
    print(f"  {'network':<9}{'replies':>8}{'shown':>7}{'p50 (s)':>9}{'max (s)':>9}{'in bound':>10}")
    every: list[float] = []
    over = [f"{f.refused} 429s"] if f.refused else []
    for network, (added, latencies) in f.per_network.items():
        within = sum(1 for s in latencies if s <= bound)
        every += latencies
        if within < added:
            over.append(f"{network.value} {within} of {added} replies within {bound:g} s")
        print(
            f"  {network.value:<9}{added:>8}{len(latencies):>7}{percentile(latencies, 50):>9.1f}"
            f"{max(latencies, default=math.nan):>9.1f}{within:>10}"
        )
    longest = max(every, default=math.nan)
    print(
        f"  shown: p50 {percentile(every, 50):.1f} s, max {longest:.1f} s, max / bound "
        f"{longest / bound:.2f}; 429s {f.refused}"
    )
    return over


def main(argv: list[str] | None = None) -> dict[str, tuple[BudgetFigures, LatencyFigures | None]]:
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "listening")
    parser.add_argument("--hours", type=float, default=None, help="of polls (2; quick 0.5)")
    parser.add_argument("--replies", type=float, default=4.0, help="a minute (4)")
    parser.add_argument("--seconds", type=float, default=None, help="real (150; quick 30; 0 none)")
    parser.add_argument("--seed", type=int, default=20)
    backends_argument(parser, default="sqlite")
    args = parser.parse_args(argv)
    quiet_logs(args.verbose)
    hours = args.hours or (0.5 if args.quick else 2.0)
    seconds = args.seconds if args.seconds is not None else (30.0 if args.quick else 150.0)
    results: dict[str, tuple[BudgetFigures, LatencyFigures | None]] = {}
    for backend in chosen_backends(args):
        with tempfile.TemporaryDirectory(prefix="crier-listening-") as folder:
            for phase in ("budget", "latency"):
                (Path(folder) / phase).mkdir()
            with throwaway_database(backend, folder=Path(folder) / "budget") as url:
                budget = asyncio.run(
                    measure_budget(url, hours=hours, replies=args.replies, seed=args.seed)
                )
            missed = report_budget(budget, backend)
            latency = None
            if seconds > 0:
                with throwaway_database(backend, folder=Path(folder) / "latency") as url:
                    latency = asyncio.run(measure_latency(url, seconds=seconds, seed=args.seed))
                missed += report_latency(latency, backend)
        said = f"NOT MET: {'; '.join(missed)}" if missed else "ok"
        print(f"verdict: {said} (load average {os.getloadavg()[0]:.1f})")
        results[backend] = (budget, latency)
    return results


if __name__ == "__main__":
    main()
