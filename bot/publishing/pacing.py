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
per key across every process that uses it (several replicas or workers on one PostgreSQL).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.ports import Clock, PublishError
from bot.storage.models import Pace
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

    def next_slot(self) -> datetime:
        """When a request made now would go (by the slots kept in memory)."""
        return self._slot(self._clock.now(), list(self._slots), self._held_until)

    def _slot(self, now: datetime, slots: list[datetime], held: datetime | None) -> datetime:
        """The first time from ``now`` that keeps ``slots`` (oldest first) within the limit."""
        slot = now
        if len(slots) == self._limit:
            slot = max(slot, slots[0] + self._window)
        return slot if held is None else max(slot, held)

    async def wait(self) -> None:
        """Wait for this request's slot (or refuse, when it is further than ``max_wait``)."""
        now = self._clock.now()
        if self._store is None:
            slot = self._taken(now, self._slot(now, list(self._slots), self._held_until))
            self._slots.append(slot)  # taken before the wait, so concurrent requests queue
        else:
            slot = await self._store.run(lambda s: self._take_shared(s, now))
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

    def _take_shared(self, session: Session, now: datetime) -> datetime:
        pace = self._row(session)
        slots = sorted(_utc(datetime.fromisoformat(t)) for t in pace.slots)[-self._limit :]
        held = _utc(pace.held_until) if pace.held_until is not None else None
        slot = self._taken(now, self._slot(now, slots, held))
        pace.slots = [t.isoformat() for t in [*slots, slot][-self._limit :]]
        session.add(pace)
        return slot

    def _row(self, session: Session) -> Pace:
        query = select(Pace).where(Pace.key == self._key).with_for_update()
        pace = session.exec(query).first()
        if pace is not None:
            return pace
        try:
            with session.begin_nested():  # two processes' first requests: one row wins
                session.add(Pace(key=self._key, slots=[]))
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
