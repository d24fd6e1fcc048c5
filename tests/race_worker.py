"""One scheduler process for the race test: runs due jobs until none are left.

python -m tests.race_worker <database-url> <worker-name>
"""

from __future__ import annotations

import asyncio
import sys

from bot.ports import SystemClock
from bot.scheduling.jobs import JobRun
from bot.scheduling.scheduler import Scheduler
from bot.storage import audit
from bot.storage.store import open_store


async def main(url: str, name: str) -> None:
    store = open_store(url)

    async def record(run: JobRun) -> str:
        def write(session: object) -> None:
            audit.record(
                session,
                actor=name,
                action="race_fired",  # type: ignore[arg-type]
                at=run.fired_at,
                detail={"job": run.id},
            )

        await store.run(write)
        await asyncio.sleep(0.001)  # a little work, so the two processes overlap
        return "fired"

    scheduler = Scheduler(
        store=store, clock=SystemClock(), handlers={"race": record}, worker_id=name, batch_size=7
    )
    idle = 0
    while idle < 3:
        idle = 0 if await scheduler.run_once() else idle + 1
        await asyncio.sleep(0.01)
    store.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
