"""``crier worker``: the work runner, the publisher and the scheduler, without the HTTP server.

More hands on PostgreSQL: ``crier serve`` does all of it too, and every process shares the one
job table (each row is taken by one of them), so adding workers or serve replicas is how Crier
scales out. On SQLite, one ``crier serve`` is the whole of Crier.
"""

from __future__ import annotations

import asyncio
import contextlib

from handlers.main import signalled
from handlers.server import Crier


async def run_worker(crier: Crier, *, stop: asyncio.Event | None = None) -> None:
    """Work, publish and remind until ``stop`` is set (by SIGINT or SIGTERM when not given)."""
    stop = stop or signalled()
    core = crier.core
    print(
        f"Crier worker {core.work.worker_id} is working, publishing and reminding; "
        "Ctrl-C stops it.",
        flush=True,
    )
    try:
        async with crier.slack.one_session() if crier.slack else contextlib.nullcontext():
            await asyncio.gather(core.run_work(stop), core.run_background(stop))
    finally:
        await core.close()
