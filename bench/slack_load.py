"""Slack's side of the load: signed ``/outage`` commands and *Approve* clicks posted to
``/slack/events``, each timed from sending to reading the app's answer (the ack).

A command is ``/outage Service: cannot sign in (load N)``, declared by the bench's analysts in
turn; ``N`` lets a benchmark find the incident, and its draft, that the command made. A click
approves a draft that a command made — found in the database the server writes (``DraftFeed``)
— or, for the bare app, a made-up one.

    load = SlackLoad(url=server.url + "/slack/events", simulator_url=simulator.url, drafts=feed)
    async with aiohttp.ClientSession() as session:
        answer = await load.send(session, "command", result)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy import create_engine, text

from bench.crier_setup import ANALYSTS, APPROVER, COMMS
from bench.figures import percentile
from bench.slack_simulator import SIGNING_SECRET
from bot.storage.store import normalise_database_url
from handlers.sandbox.requests import post_signed, slash_command, view_submission
from handlers.slack.ids import COMMAND, View
from handlers.slack.listeners import DRAFTING

SERVICES = ("Blackboard", "Email", "Wi-Fi", "VPN", "Student Portal")
LOAD_NUMBER = re.compile(r"\(load (\d+)\)")


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
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"command": [], "click": []})
    failures: Counter[str] = field(default_factory=Counter)  # no answer, or not HTTP 200
    # Commands answered with anything but "Drafting the posts…" (by their answer's text).
    refusals: Counter[str] = field(default_factory=Counter)

    @property
    def all(self) -> list[float]:
        return self.latencies["command"] + self.latencies["click"]

    @property
    def requests(self) -> int:
        return len(self.all) + sum(self.failures.values())

    def p(self, q: float, kind: str | None = None) -> float:
        return percentile(self.latencies[kind] if kind else self.all, q)


def answer_text(answer: str) -> str:
    """The text of an ack's body (bolt answers JSON, or nothing)."""
    if not answer.strip():
        return ""
    try:
        body = json.loads(answer)
    except ValueError:
        return answer
    return str(body.get("text") or "") if isinstance(body, dict) else answer


@dataclass
class SlackLoad:
    url: str
    simulator_url: str
    drafts: DraftFeed
    services: tuple[str, ...] = SERVICES
    expect_drafting: bool = True  # Crier acks a command with DRAFTING; the bare app with nothing
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def command(self, number: int) -> str:
        service = self.services[number % len(self.services)]
        user = ANALYSTS[number % len(ANALYSTS)]
        return slash_command(
            COMMAND,
            f"{service}: cannot sign in (load {number})",
            user_id=user,
            channel_id=COMMS,
            response_url=self._response_url(),
        )

    def click(self, post_id: int) -> str:
        """An approver's "Publish now?" confirmed (*Approve & publish* asks first): the
        request that queues the approval."""
        metadata = {"post_id": post_id, "channel_id": COMMS, "thread_ts": None}
        confirmation = {
            "callback_id": View.APPROVE,
            "private_metadata": json.dumps(metadata),
            "blocks": [],
        }
        return view_submission(view=confirmation, values={}, user_id=APPROVER)

    def _response_url(self) -> str:
        return f"{self.simulator_url}/response/{secrets.token_hex(8)}"

    async def send(
        self,
        session: aiohttp.ClientSession,
        kind: str,
        result: LoadResult,
        *,
        number: int | None = None,
    ) -> bool:
        """One request (a click needs a draft: without one, a command goes instead); whether
        it was answered as it should be."""
        post_id = self.drafts.take() if kind == "click" else None
        if kind == "click" and post_id is None:
            kind = "command"
        if post_id is not None:
            body = self.click(post_id)
        else:
            body = self.command(next(self._numbers) if number is None else number)
        started = time.perf_counter()
        try:
            status, answer = await post_signed(session, self.url, body, secret=SIGNING_SECRET)
        except (aiohttp.ClientError, TimeoutError) as exc:
            result.failures[type(exc).__name__] += 1
            return False
        elapsed = time.perf_counter() - started
        if status != 200:
            result.failures[f"HTTP {status}"] += 1
            return False
        result.latencies[kind].append(elapsed)
        said = answer_text(answer)
        if kind == "command" and self.expect_drafting and said != DRAFTING:
            result.refusals[said or "(an empty ack)"] += 1
            return False
        return True
