"""Work that follows an answer to a person (chat refreshes, what an ack promised): each a task
kept until it is done, so a stop can wait for it instead of dropping it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], *, failed: str) -> None:
        """Run ``work`` as a task of its own; its failure is logged as ``failed``, not raised."""

        async def logged() -> None:
            try:
                await work
            except Exception:
                log.exception(failed)

        task = asyncio.get_running_loop().create_task(logged())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for every task started so far, and for those they start in turn."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
