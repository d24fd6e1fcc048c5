"""Pacing requests to a network that counts them in a rolling window (Statuspage: 60 a minute).

    pacer = Pacer(limit=60, window=timedelta(seconds=60), clock=clock)
    await pacer.wait()          # before each request
    pacer.hold_until(reset)     # after a 420/429: nothing more until the network's time

Each request takes the next free slot: at once while fewer than ``limit`` were sent in the last
``window``, else when the oldest of them leaves it. A slot further away than ``max_wait`` is not
waited for in the request: ``wait`` raises a transient, rate-limited ``PublishError`` whose
``retry_at`` is that slot, so the delivery worker holds the network's posts until then instead of
a post sleeping on its lease. Time comes from the injectable ``Clock`` and waiting from the
injectable ``sleep``, so tests move a fake clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.ports import Clock, PublishError

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
                raise PublishError(
                    f"Crier is pacing its requests to {self._name} (its rate limit); "
                    f"the next one may go at {slot:%H:%M:%S} UTC",
                    transient=True,
                    retry_at=slot,
                    rate_limited=True,
                )
            self._slots.append(slot)  # taken before the wait, so concurrent requests queue
        delay = (slot - now).total_seconds()
        if delay > 0:
            await self._sleep(delay)

    def hold_until(self, until: datetime) -> None:
        """The network refused for rate: no request before ``until``."""
        if self._held_until is None or until > self._held_until:
            self._held_until = until
