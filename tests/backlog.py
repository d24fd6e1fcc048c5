"""Fill Crier's backlog on purpose: one pair of hands, no queue, and that pair busy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.backlog import Backlog
from bot.core import Core


@asynccontextmanager
async def flooded(core: Core) -> AsyncIterator[None]:
    """Inside the block every turn is taken and none may wait: a new declaration is turned away
    and a decision waits. Leaving the block frees the turn."""
    core.backlog = Backlog(at_once=1, most_waiting=0)
    busy, let_go = asyncio.Event(), asyncio.Event()

    async def slow_work() -> None:
        async with core.backlog.turn():
            busy.set()
            await let_go.wait()

    holder = asyncio.create_task(slow_work())
    await busy.wait()
    try:
        yield
    finally:
        let_go.set()
        await holder
