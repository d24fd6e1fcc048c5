"""What the fake networks' read endpoints share: a request budget per window (the real APIs
count reads apart from posts), the fake's clock, and the people who reply.

    window = ReadWindow(limit=3, seconds=300, now=clock_seconds)
    if not window.take():
        ...  # answer 429 with window.remaining (0) and window.reset in the network's headers
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass
class ReadWindow:
    """``limit`` reads per ``seconds``-long window (None: unlimited, still counted), windows
    starting on a whole second of ``now`` (unix seconds) from the first read."""

    limit: int | None
    seconds: float
    now: Callable[[], float]
    started: float | None = None
    used: int = 0
    refused: int = 0  # reads answered 429

    def _roll(self) -> None:
        now = self.now()
        if self.started is None:
            self.started = math.floor(now)
        elif now >= self.started + self.seconds:
            self.started += ((now - self.started) // self.seconds) * self.seconds
            self.used = 0

    def take(self) -> bool:
        """Count one read; False (and not counted) when the window's reads are spent."""
        self._roll()
        if self.limit is not None and self.used >= self.limit:
            self.refused += 1
            return False
        self.used += 1
        return True

    @property
    def cap(self) -> int:
        return self.limit if self.limit is not None else 300

    @property
    def remaining(self) -> int:
        return max(self.cap - self.used, 0)

    @property
    def reset(self) -> int:
        """The window's end, in whole unix seconds."""
        self._roll()
        assert self.started is not None
        return math.ceil(self.started + self.seconds)

    def reset_iso(self) -> str:
        return datetime.fromtimestamp(self.reset, UTC).isoformat().replace("+00:00", "Z")


def at_or_now(at: datetime | None, now: Callable[[], float]) -> datetime:
    return at.astimezone(UTC) if at is not None else datetime.fromtimestamp(now(), UTC)


def iso_ms(moment: datetime) -> str:
    """``2026-01-15T19:45:00.000Z``, as Mastodon and Bluesky write times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
