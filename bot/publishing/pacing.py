"""Pacing requests to a network that counts them in a rolling window (Statuspage: 60 a minute).

    pacer = Pacer(limit=60, window=timedelta(seconds=60), clock=clock)
    await pacer.wait()          # before each request
    await pacer.hold_until(reset)  # after a 420/429: nothing more until the network's time

Each request takes the next free slot: at once while fewer than ``limit`` were sent in the last
``window``, else when the oldest of them leaves it. A slot further away than ``max_wait`` is not
waited for in the request: ``wait`` raises a transient, rate-limited ``PublishError`` whose
``retry_at`` is that slot, so the delivery worker holds the network's posts until then instead of
a post sleeping on its lease. Time comes from the injectable ``Clock`` and waiting from the
injectable ``sleep``, so tests move a fake clock instead of sleeping.

Given a ``store`` and a ``key``, the pacer keeps the slots in the database, for a limit counted
per key across every process that uses it (several replicas or workers on one PostgreSQL): a ring
of at most ``limit`` rows per key (``PaceSlot``, a row more per request until it is full), so a
request reads the oldest and rewrites that one row, whatever the limit (a JSON list of the last
``limit`` times, rewritten whole, cost 13 ms a request at 5,000 a second). Neither a counter per
fixed window nor a single "theoretical arrival time" (GCRA) keeps the rolling window: the first
lets twice ``limit`` through across a window's edge, the second either spreads a burst the network
allows or lets more than ``limit`` into one window.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.ports import Clock, PublishError
from bot.storage.models import Pace, PaceSlot
from bot.storage.store import Store

Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """The last ``limit`` requests' times: in memory, or with a ``store`` in the database, shared
    by every process on it (one row of ``pace`` per ``key``, locked while a slot is taken), so N
    replicas or workers send the network's limit, not N times it. ``key`` names what the network
    counts by (a fingerprint of the API key)."""

    def __init__(
        self,
        *,
        limit: int,
        window: timedelta,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        max_wait: timedelta = timedelta(seconds=5),
        name: str = "the network",
        store: Store | None = None,
        key: str = "",
    ) -> None:
        if limit < 1:
            raise ValueError("a pacer needs a limit of at least one request")
        self._limit = limit
        self._window = window
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._name = name
        self._store = store
        self._key = key
        self._slots: deque[datetime] = deque(maxlen=limit)  # kept in memory (without a store)
        self._held_until: datetime | None = None
        self._ring_ready = False  # the key's PaceSlot rows are at most ``limit``

    def next_slot(self) -> datetime:
        """When a request made now would go (by the slots kept in memory)."""
        return self._slot(self._clock.now(), self._oldest_in_memory(), self._held_until)

    def _oldest_in_memory(self) -> datetime | None:
        return self._slots[0] if len(self._slots) == self._limit else None

    def _slot(self, now: datetime, oldest: datetime | None, held: datetime | None) -> datetime:
        """The first time from ``now`` that keeps the limit: a window after ``oldest``, the
        oldest of the last ``limit`` slots (None: fewer were taken), and not before ``held``."""
        slot = now if oldest is None else max(now, oldest + self._window)
        return slot if held is None else max(slot, held)

    async def wait(self) -> None:
        """Wait for this request's slot (or refuse, when it is further than ``max_wait``)."""
        now = self._clock.now()
        if self._store is None:
            slot = self._taken(now, self._slot(now, self._oldest_in_memory(), self._held_until))
            self._slots.append(slot)  # taken before the wait, so concurrent requests queue
        else:
            slot = await self._take_shared(now)
        delay = (slot - now).total_seconds()
        if delay > 0:
            await self._sleep(delay)

    def _taken(self, now: datetime, slot: datetime) -> datetime:
        if slot - now > self._max_wait:
            raise PublishError(
                f"Crier is pacing its requests to {self._name} (its rate limit); "
                f"the next one may go at {slot:%H:%M:%S} UTC",
                transient=True,
                retry_at=slot,
                rate_limited=True,
            )
        return slot

    async def _take_shared(self, now: datetime) -> datetime:
        assert self._store is not None
        if not self._ring_ready:  # once per pacer, committed before it is relied on
            await self._store.run(self._size_ring)
            self._ring_ready = True
        return await self._store.run(lambda s: self._take_oldest(s, now))

    async def spent(self, requests: int) -> None:
        """Count ``requests`` more made just now (the pages one call followed): they take
        slots even when that puts the next free one past ``max_wait`` — they were made."""
        if requests <= 0:
            return
        now = self._clock.now()
        if self._store is None:
            for _ in range(requests):
                self._slots.append(self._slot(now, self._oldest_in_memory(), self._held_until))
            return
        if not self._ring_ready:
            await self._store.run(self._size_ring)
            self._ring_ready = True

        def take(session: Session) -> None:
            for _ in range(requests):
                self._take_oldest(session, now, refuse=False)

        await self._store.run(take)

    def _take_oldest(self, session: Session, now: datetime, *, refuse: bool = True) -> datetime:
        """Take the slot after the oldest of the last ``limit`` (the row lock on ``pace`` keeps
        two processes from reading the same oldest) and write it over that one. While the key
        has made fewer than ``limit`` requests, the ring grows by a row instead: it is never
        bigger than the requests made (a limit of a billion, as a benchmark lifts it to, costs
        nothing until used)."""
        pace = self._row(session)
        held = _utc(pace.held_until) if pace.held_until is not None else None
        count, highest = session.exec(
            select(func.count(), func.max(PaceSlot.n)).where(PaceSlot.key == self._key)
        ).one()
        if count < self._limit:
            slot = self._slot(now, None, held)
            slot = self._taken(now, slot) if refuse else slot
            number = -1 if highest is None else highest
            session.add(PaceSlot(key=self._key, n=number + 1, at=slot))
            return slot
        n, oldest = session.exec(
            select(PaceSlot.n, PaceSlot.at)
            .where(PaceSlot.key == self._key)
            .order_by(col(PaceSlot.at), col(PaceSlot.n))
            .limit(1)
        ).one()
        slot = self._slot(now, _utc(oldest), held)
        slot = self._taken(now, slot) if refuse else slot
        session.execute(
            update(PaceSlot)
            .where(col(PaceSlot.key) == self._key, col(PaceSlot.n) == n)
            .values(at=slot)
        )
        return slot

    def _size_ring(self, session: Session) -> None:
        """When the limit went down since the key's rows were written, the oldest go: the
        newest ``limit`` times still count."""
        self._row(session)  # locked: another process sizing it waits
        extra = session.exec(
            select(PaceSlot)
            .where(PaceSlot.key == self._key)
            .order_by(col(PaceSlot.at).desc(), col(PaceSlot.n).desc())
            .offset(self._limit)
        ).all()
        for row in extra:
            session.delete(row)

    def _row(self, session: Session) -> Pace:
        query = select(Pace).where(Pace.key == self._key).with_for_update()
        pace = session.exec(query).first()
        if pace is not None:
            return pace
        try:
            with session.begin_nested():  # two processes' first requests: one row wins
                session.add(Pace(key=self._key))
        except IntegrityError:
            pass
        return session.exec(query).one()

    async def hold_until(self, until: datetime) -> None:
        """The network refused for rate: no request before ``until``."""
        if self._store is None:
            if self._held_until is None or until > self._held_until:
                self._held_until = until
            return

        def hold(session: Session) -> None:
            pace = self._row(session)
            if pace.held_until is None or until > _utc(pace.held_until):
                pace.held_until = until
                session.add(pace)

        await self._store.run(hold)


def key_fingerprint(secret: str) -> str:
    """What a pace row is keyed by: a digest of the key, never the key."""
    return hashlib.sha256(secret.encode()).hexdigest()[:64]


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
