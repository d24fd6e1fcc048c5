"""A rolling-window limit per key, in memory: at most ``most`` events per key in any ``window``.

    limit = RollingLimit(most=5, window=timedelta(minutes=10), clock=clock)
    if not limit.allow(client):  # counted only when allowed
        ...

It is per process: replicas behind a load balancer each allow the limit, which still stops a
flood or a runaway sender. Time comes from the injectable ``Clock``.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from bot.ports import Clock


class RollingLimit:
    """At most ``most`` events per key in any ``window``; once more than ``keep_keys`` keys are
    known, the quiet ones are forgotten, so the table stays small."""

    def __init__(
        self, *, most: int, window: timedelta, clock: Clock, keep_keys: int = 10_000
    ) -> None:
        self._most, self._window, self._clock = most, window, clock
        self._keep_keys = keep_keys
        self._recent: dict[str, deque[datetime]] = {}

    def allow(self, key: str) -> bool:
        """Count one event for ``key``; False (not counted) when it is over the limit."""
        now = self._clock.now()
        recent = self._recent.setdefault(key, deque())
        while recent and recent[0] <= now - self._window:
            recent.popleft()
        if len(recent) >= self._most:
            return False
        recent.append(now)
        if len(self._recent) > self._keep_keys:
            for old in [k for k, q in self._recent.items() if not q or q[-1] <= now - self._window]:
                del self._recent[old]
        return True

    def count(self, key: str) -> int:
        """How many events ``key`` had in the window that ends now."""
        now = self._clock.now()
        return sum(1 for at in self._recent.get(key, ()) if at > now - self._window)
