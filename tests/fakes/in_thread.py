"""Fake servers on an event loop of their own, in a thread, so that a test can run a command
that calls ``asyncio.run`` (``crier channels check``) or is a process of its own."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Protocol


class Served(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class NetworksInThread:
    """Fakes served from their own event loop, so the command can run ``asyncio.run``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fakes: list[Served] = []

    def serve(self, fake: Any) -> Any:
        asyncio.run_coroutine_threadsafe(fake.start(), self.loop).result(10)
        self.fakes.append(fake)
        return fake

    def close(self) -> None:
        for fake in self.fakes:
            asyncio.run_coroutine_threadsafe(fake.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
