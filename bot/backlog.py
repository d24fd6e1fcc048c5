"""The work done after an ack, a few at a time, with decisions ahead of new declarations.

Slack needs its answer within 3 s and gets it at once; the work the answer promises (declare,
post the thread, approve and publish) follows. Unbounded, a flood of requests would pile that
work up behind the database and starve the event loop that answers Slack. So: at most
``at_once`` pieces run together; others wait their turn, an *Approve* ahead of a new
``/outage``; and when ``most_waiting`` are already waiting, new declarations are turned away with
a clear message (nothing saved, try again) rather than acknowledged and left for minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from bot.errors import CrierError

log = logging.getLogger(__name__)
T = TypeVar("T")
LOG_EVERY = 10.0  # seconds: a flood of refusals makes one log line, not thousands

BUSY = (
    "Crier is very busy right now (many requests at once), so this was not saved. "
    "Please try again in a minute."
)


class Busy(CrierError):
    def __init__(self) -> None:
        super().__init__(BUSY)


class Backlog:
    def __init__(self, *, at_once: int = 16, most_waiting: int = 200) -> None:
        self._at_once = at_once
        self._free = at_once
        self._most_waiting = most_waiting
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._queued = 0  # futures in ``_waiting`` not yet handed a turn or cancelled
        self._reserved = 0  # places promised by ``reserve`` whose work has not asked for a turn
        self._refused = 0
        self._logged_at = float("-inf")
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def full(self) -> bool:
        """Whether a new, non-urgent piece of work would be turned away."""
        return self.unfinished >= self._at_once + self._most_waiting

    @property
    def waiting(self) -> int:
        return self._queued + self._reserved

    @property
    def unfinished(self) -> int:
        """Pieces of acknowledged work running, waiting for a turn, or promised a place."""
        return self._at_once - self._free + self._queued + self._reserved

    def reserve(self, *, urgent: bool = False) -> None:
        """Promise a place now (raises Busy when full and not ``urgent``), for work that will
        ask for its turn a moment later, with ``turn(reserved=True)``: what is acked as taken on
        must not be turned away afterwards."""
        if not urgent and self.full:
            self.turned_away("a new request")
            raise Busy
        self._reserved += 1
        self._idle.clear()

    def take(
        self, work: Coroutine[Any, Any, T], *, urgent: bool = False, promised: bool = False
    ) -> Coroutine[Any, Any, T]:
        """Take a place for ``work`` now and return it, to be awaited: it runs when its turn
        comes. Raises Busy when full, unless ``urgent`` or ``promised`` (acknowledged already,
        elsewhere: it must not be turned away afterwards)."""
        try:
            self.reserve(urgent=urgent or promised)
        except Busy:
            work.close()  # turned away: it must not linger
            raise

        async def in_its_turn() -> T:
            try:
                async with self.turn(urgent=urgent, reserved=True):
                    return await work
            finally:
                work.close()  # cancelled before it started: it must not linger

        return in_its_turn()

    def hold(self, work: Coroutine[Any, Any, T], *, urgent: bool = False) -> Coroutine[Any, Any, T]:
        """Take a place for ``work`` now (raises Busy when full, unless ``urgent``) and return
        it, to be awaited at once: it runs elsewhere (``crier serve``'s work process queues it
        in a backlog of its own), and the place only counts it here until it is done."""
        try:
            self.reserve(urgent=urgent)
        except Busy:
            work.close()  # turned away: it must not linger
            raise

        async def counted() -> T:
            try:
                return await work
            finally:
                work.close()
                self.release_reserved()

        return counted()

    def release_reserved(self) -> None:
        """A place promised by ``reserve`` whose work was done without a turn here: by
        ``crier serve``'s work process, which keeps a backlog of its own."""
        self._reserved -= 1
        self._note_if_idle()

    async def drain(self, *, within: float) -> int:
        """At shutdown: wait (at most ``within`` seconds) for the work already acknowledged to
        finish, so a restart does not drop an ``/outage`` Slack was told is being drafted.
        Returns how many pieces were still unfinished when the time ran out."""
        if self.unfinished:
            log.info("finishing %d acknowledged request(s) before stopping", self.unfinished)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout=within)
        if self.unfinished:
            log.error(
                "stopping with %d acknowledged request(s) unfinished after %.0f s: "
                "the people who sent them were told it was under way",
                self.unfinished,
                within,
            )
        return self.unfinished

    def turned_away(self, what: str) -> None:
        """Count (and now and then log) a request refused because the backlog is full."""
        self._refused += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY:
            log.warning(
                "very busy: turned away %d request(s) (latest: %s); %d wait for a turn",
                self._refused,
                what,
                self._queued,
            )
            self._refused, self._logged_at = 0, now

    @asynccontextmanager
    async def turn(self, *, urgent: bool = False, reserved: bool = False) -> AsyncIterator[None]:
        """Wait for a turn (raises Busy when full, unless ``urgent`` or ``reserved``), and hold
        it for the block."""
        await self._acquire(urgent, reserved)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool, reserved: bool) -> None:
        if reserved:
            self._reserved -= 1  # the promised place becomes a turn or a place in the queue
        if self._free > 0 and not self._queued:
            self._free -= 1
            self._idle.clear()
            return
        if not urgent and not reserved and self.full:
            self.turned_away("work after an ack")
            raise Busy
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (0 if urgent else 1, next(self._order), turn))
        self._queued += 1
        self._idle.clear()
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # handed a turn just as it was cancelled: pass it on
            else:
                self._queued -= 1  # it stays in the heap, done, and is skipped there
                self._note_if_idle()
            raise

    def _release(self) -> None:
        while self._waiting:
            *_, turn = heapq.heappop(self._waiting)
            if not turn.done():  # the turn passes straight on: ``_free`` is unchanged
                self._queued -= 1
                turn.set_result(None)
                return
        self._free += 1
        self._note_if_idle()

    def _note_if_idle(self) -> None:
        if not self.unfinished:
            self._idle.set()
