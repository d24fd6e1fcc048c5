"""A clock that tests move by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 15, 19, 45, tzinfo=UTC)  # 2:45 PM EST
        self.slept: list[float] = []  # what ``sleep`` was asked to wait, in order

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    async def sleep(self, seconds: float) -> None:
        """An ``asyncio.sleep`` stand-in: the clock moves to the end of the wait (never back,
        when sleepers overlap), and other tasks get their turn; no real time passes."""
        self.slept.append(seconds)
        until = self._now + timedelta(seconds=seconds)
        await asyncio.sleep(0)
        self._now = max(self._now, until)
