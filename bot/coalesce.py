"""Refresh things in chat at most once at a time each, however often they change meanwhile."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class Coalescer:
    """``request(key)`` asks for ``refresh(key)`` soon. Requests made before it starts share it;
    requests made while it runs share one more run after it, so the last state is always shown
    and eight deliveries finishing together cost one or two refreshes, not eight."""

    def __init__(self, refresh: Callable[[int], Awaitable[None]], spawn: Spawn) -> None:
        self._refresh = refresh
        self._spawn = spawn
        self._waiting: set[int] = set()
        self._running: set[int] = set()
        self._again: set[int] = set()

    def request(self, key: int) -> None:
        if key in self._running:
            self._again.add(key)
        elif key not in self._waiting:
            self._waiting.add(key)
            self._spawn(self._run(key))

    async def _run(self, key: int) -> None:
        self._waiting.discard(key)
        self._running.add(key)
        try:
            while True:
                self._again.discard(key)
                await self._refresh(key)
                if key not in self._again:
                    return
        finally:
            self._running.discard(key)
            self._again.discard(key)
