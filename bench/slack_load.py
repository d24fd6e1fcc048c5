"""Slack's side of the load: concurrent clients posting signed ``/outage`` commands and
*Approve* clicks to ``/slack/events``, each timing how long the app takes to answer (the ack).

Each client alternates a command and a click. A click approves a draft that a command made —
found in the database the server writes (``DraftFeed``) — or, for the bare app, a made-up one.

    load = SlackLoad(url=server.url + "/slack/events", simulator_url=simulator.url, drafts=feed)
    result = await load.run(clients=50, seconds=20)
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy import create_engine, text

from bench.crier_setup import ANALYST, APPROVER, COMMS
from bench.figures import percentile
from bench.slack_simulator import SIGNING_SECRET
from bot.store import normalise_database_url
from handlers.sandbox.requests import block_action, post_signed, slash_command
from handlers.slack.ids import COMMAND, Action

SERVICES = ("Blackboard", "Email", "Wi-Fi", "VPN", "Student Portal")
WARM_UP_COMMANDS = 10


class DraftFeed:
    """Drafts waiting for approval, as a person would see them appear in the thread."""

    def __init__(self, database_url: str | None) -> None:
        self._engine = create_engine(normalise_database_url(database_url)) if database_url else None
        self._made_up = itertools.count(1_000_000)
        self._ready: asyncio.Queue[int] = asyncio.Queue()
        self._last = 0

    @property
    def waiting(self) -> int:
        """Drafts found and not yet taken."""
        return self._ready.qsize()

    def take(self) -> int | None:
        if self._engine is None:
            return next(self._made_up)
        try:
            return self._ready.get_nowait()
        except asyncio.QueueEmpty:
            return None

    async def refresh(self) -> None:
        """Queue the drafts that appeared since the last look."""
        if self._engine is not None:
            for post_id in await asyncio.to_thread(self._new_drafts):
                self._ready.put_nowait(post_id)

    async def watch(self, stop: asyncio.Event) -> None:
        """Look for new drafts every 50 ms until ``stop``."""
        while self._engine is not None and not stop.is_set():
            await self.refresh()
            await asyncio.sleep(0.05)

    def _new_drafts(self) -> list[int]:
        assert self._engine is not None
        with self._engine.connect() as connection:
            ids = [
                int(row[0])
                for row in connection.execute(
                    text("SELECT id FROM post WHERE state = 'pending' AND id > :last ORDER BY id"),
                    {"last": self._last},
                )
            ]
        if ids:
            self._last = ids[-1]
        return ids

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


@dataclass
class LoadResult:
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"command": [], "click": []})
    failures: Counter[str] = field(default_factory=Counter)
    busy: int = 0  # acked with Crier's "very busy, nothing saved, try again"

    @property
    def all(self) -> list[float]:
        return self.latencies["command"] + self.latencies["click"]

    @property
    def requests(self) -> int:
        return len(self.all) + sum(self.failures.values())

    def p(self, q: float, kind: str | None = None) -> float:
        return percentile(self.latencies[kind] if kind else self.all, q)


@dataclass
class SlackLoad:
    url: str
    simulator_url: str
    drafts: DraftFeed
    services: tuple[str, ...] = SERVICES
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _command(self) -> str:
        number = next(self._numbers)
        service = self.services[number % len(self.services)]
        return slash_command(
            COMMAND,
            f"{service}: cannot sign in (load {number})",
            user_id=ANALYST,
            channel_id=COMMS,
            response_url=self._response_url(),
        )

    def _click(self, post_id: int) -> str:
        return block_action(
            action_id=Action.APPROVE,
            value=str(post_id),
            block_id=f"draft_{post_id}",
            user_id=APPROVER,
            channel_id=COMMS,
            message_ts=f"{time.time():.6f}",
            response_url=self._response_url(),
        )

    def _response_url(self) -> str:
        return f"{self.simulator_url}/response/{secrets.token_hex(8)}"

    async def send(self, session: aiohttp.ClientSession, kind: str, result: LoadResult) -> None:
        post_id = self.drafts.take() if kind == "click" else None
        if kind == "click" and post_id is None:
            kind = "command"  # no draft to approve yet: declare another incident instead
        body = self._click(post_id) if post_id is not None else self._command()
        started = time.perf_counter()
        try:
            status, answer = await post_signed(session, self.url, body, secret=SIGNING_SECRET)
        except (aiohttp.ClientError, TimeoutError) as exc:
            result.failures[type(exc).__name__] += 1
            return
        elapsed = time.perf_counter() - started
        if status == 200:
            result.latencies[kind].append(elapsed)
            result.busy += "very busy" in answer
        else:
            result.failures[f"HTTP {status}"] += 1

    async def run(self, *, clients: int, seconds: float, pace: float | None = None) -> LoadResult:
        """``clients`` at once, each sending its next request when its last was answered, or,
        with ``pace``, every ``pace`` seconds (sooner never; later if the answer is late)."""
        stop = asyncio.Event()
        watcher = asyncio.create_task(self.drafts.watch(stop))
        result = LoadResult(seconds=seconds)
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            deadline = time.monotonic() + seconds

            async def client(order: tuple[str, str], offset: float) -> None:
                kinds = itertools.cycle(order)
                next_at = time.monotonic() + offset
                while time.monotonic() < deadline:
                    if pace:
                        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                        next_at += pace
                    await self.send(session, next(kinds), result)

            orders = (("command", "click"), ("click", "command"))
            # Paced clients start spread over one interval, as people's clicks would.
            await asyncio.gather(
                *(client(orders[i % 2], (pace or 0) * i / clients) for i in range(clients))
            )
        stop.set()
        await watcher
        return result

    async def warm_up(self, requests: int = WARM_UP_COMMANDS) -> None:
        """A few commands, then clicks on their drafts: the first answers pay for imports,
        templates and bolt's ``auth.test``, which no later request does."""
        scratch = LoadResult(seconds=0)
        async with aiohttp.ClientSession() as session:
            for _ in range(requests):
                await self.send(session, "command", scratch)
            await asyncio.sleep(1.0)
            await self.drafts.refresh()
            for _ in range(requests):
                await self.send(session, "click", scratch)
        if scratch.failures:
            raise RuntimeError(f"the app refused the warm-up requests: {dict(scratch.failures)}")
