"""``crier worker``: the publisher and the scheduler without the HTTP server.

For deployments that split them: several ``crier serve`` replicas answer Slack and Teams while
one or more workers publish and remind (they share PostgreSQL, so each job runs once).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from handlers.server import Crier

log = logging.getLogger(__name__)


async def run_worker(crier: Crier, *, stop: asyncio.Event | None = None) -> None:
    """Publish and remind until ``stop`` is set (by SIGINT or SIGTERM when not given)."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    core = crier.core
    print(
        f"Crier worker {core.scheduler.worker_id} is publishing and reminding; Ctrl-C stops it.",
        flush=True,
    )
    try:
        await asyncio.gather(core.worker.run_forever(stop), core.scheduler.run_forever(stop))
    finally:
        await core.close()
