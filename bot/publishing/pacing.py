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

``SharedPacer`` keeps the slots in the database, for a limit counted per key across every
process that uses it (several replicas or workers on one PostgreSQL).
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
    def __init__(
        self,
        *,
        limit: int,
        window: timedelta,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        max_wait: timedelta = timedelta(seconds=5),
        name: str = "the network",
    ) -> None:
        if limit < 1:
            raise ValueError("a pacer needs a limit of at least one request")
        self._limit = limit
        self._window = window
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._name = name
        self._slots: deque[datetime] = deque(maxlen=limit)  # the last ``limit`` requests' times
        self._held_until: datetime | None = None
        self._lock = asyncio.Lock()

    def next_slot(self) -> datetime:
        """When a request made now would go."""
        slot = self._clock.now()
        if len(self._slots) == self._limit:
            slot = max(slot, self._slots[0] + self._window)
        if self._held_until is not None:
            slot = max(slot, self._held_until)
        return slot

    async def wait(self) -> None:
        """Wait for this request's slot (or refuse, when it is further than ``max_wait``)."""
        async with self._lock:
            now = self._clock.now()
            slot = self.next_slot()
            if slot - now > self._max_wait:
                raise _paced(self._name, slot)
            self._slots.append(slot)  # taken before the wait, so concurrent requests queue
        delay = (slot - now).total_seconds()
        if delay > 0:
            await self._sleep(delay)

    async def hold_until(self, until: datetime) -> None:
        """The network refused for rate: no request before ``until``."""
        if self._held_until is None or until > self._held_until:
            self._held_until = until


class SharedPacer(Pacer):
    """A ``Pacer`` whose slots every process on the database shares (one row of ``pace`` per
    key, locked while a slot is taken): N replicas or workers send the network's limit, not N
    times it. ``key`` names what the network counts by (a fingerprint of the API key)."""

    def __init__(
        self,
        *,
        store: Store,
        key: str,
        limit: int,
        window: timedelta,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        max_wait: timedelta = timedelta(seconds=5),
        name: str = "the network",
    ) -> None:
        super().__init__(
            limit=limit, window=window, clock=clock, sleep=sleep, max_wait=max_wait, name=name
        )
        self._store = store
        self._key = key

    async def wait(self) -> None:
        now = self._clock.now()
        slot = await self._store.run(lambda s: self._take(s, now))
        delay = (slot - now).total_seconds()
        if delay > 0:
            await self._sleep(delay)

    def _take(self, session: Session, now: datetime) -> datetime:
        pace = self._row(session)
        slots = sorted(_utc(datetime.fromisoformat(t)) for t in pace.slots)[-self._limit :]
        slot = now
        if len(slots) == self._limit:
            slot = max(slot, slots[0] + self._window)
        if pace.held_until is not None:
            slot = max(slot, _utc(pace.held_until))
        if slot - now > self._max_wait:
            raise _paced(self._name, slot)
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


def _paced(name: str, slot: datetime) -> PublishError:
    return PublishError(
        f"Crier is pacing its requests to {name} (its rate limit); "
        f"the next one may go at {slot:%H:%M:%S} UTC",
        transient=True,
        retry_at=slot,
        rate_limited=True,
    )
