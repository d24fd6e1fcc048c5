"""Waiting for a Crier to finish what it started: publishing and the chat updates after it."""

from __future__ import annotations

import asyncio

from sqlalchemy import func
from sqlmodel import col, select

from bot.core import Core
from bot.models import Delivery, DeliveryState


async def settle(core: Core, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Publish what is due and let the chat updates finish.

    The app's own publishing loop may hold a delivery at this moment, so wait until no
    delivery is queued or being sent, not only until our own pass finds nothing."""
    async with asyncio.timeout(timeout):
        while True:
            while await core.worker.run_once():
                pass
            await core.settle()
            busy = await core.store.run(
                lambda s: s.exec(
                    select(func.count())
                    .select_from(Delivery)
                    .where(col(Delivery.state).in_([DeliveryState.QUEUED, DeliveryState.SENDING]))
                ).one()
            )
            if not busy:
                break
            await asyncio.sleep(0.02)
    await core.settle()
