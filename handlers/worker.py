"""``crier worker``: the publisher and the scheduler without the HTTP server.

For deployments that split them: several ``crier serve`` replicas answer Slack and Teams while
one or more workers publish and remind (they share PostgreSQL, so each job runs once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from handlers.priorities import give_way
from handlers.server import Crier
from handlers.work_process import take_work, watch_parent

log = logging.getLogger(__name__)
WORK_DRAIN = 120.0  # seconds to finish handed-over work at a stop: a full backlog takes ~15 s


async def run_worker(
    crier: Crier,
    *,
    stop: asyncio.Event | None = None,
    port_file: Path | None = None,
    parent: int | None = None,
) -> None:
    """Publish and remind until ``stop`` is set (by SIGINT or SIGTERM when not given).

    With ``port_file`` it is ``crier serve``'s work process: it also takes the work handed over
    by serve (``parent``), and stops by itself if that process is gone."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    core = crier.core
    runner = None
    watching = []
    if port_file is not None:
        # Give way to crier serve when the machine is short of CPU: its acks have Slack's 3 s
        # deadline, while this work is bounded by serve's backlog and can wait a moment.
        give_way()
        token = crier.core.settings.work_token
        if crier.slack is None or token is None:
            raise SystemExit("crier worker --take-work: Slack is off or CRIER_WORK_TOKEN unset")
        runner = await take_work(crier.slack.local_hands, token.get_secret_value(), port_file)
        if parent is not None:
            watching.append(asyncio.create_task(watch_parent(parent, stop)))
    else:
        print(
            f"Crier worker {core.scheduler.worker_id} is publishing and reminding; "
            "Ctrl-C stops it.",
            flush=True,
        )
    try:
        async with crier.slack.one_session() if crier.slack else contextlib.nullcontext():
            await asyncio.gather(core.run_background(stop), *watching)
            if runner is not None:
                # Serve acked what it handed over (and may have been killed since): finish it.
                await core.backlog.drain(within=WORK_DRAIN)
    finally:
        if runner is not None:
            await runner.cleanup()  # after the loops stop: work under way is answered first
        await core.close()
