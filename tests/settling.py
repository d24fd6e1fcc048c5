"""Waiting for a Crier to finish what it started: publishing and the chat updates after it."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bot.core import Core
from bot.storage.models import Delivery, DeliveryState


def bolt_listeners() -> list[asyncio.Task[Any]]:
    """The listeners bolt is running: it answers Slack at the ack, and the listener goes on in a
    task of its own (a refusal told, a form opened)."""
    running = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if not task.done() and code is not None and "slack_bolt" in code.co_filename:
            running.append(task)
    return running


async def settle(core: Core, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Let bolt's listeners finish, publish what is due and let the chat updates finish.

    The app's own publishing loop may hold a delivery at this moment, so wait until no
    delivery is queued or being sent, not only until our own pass finds nothing."""
    async with asyncio.timeout(timeout):
        while True:
            listeners = bolt_listeners()
            if listeners:
                await asyncio.gather(*listeners, return_exceptions=True)
            while await core.publishing.run_once():
                pass
            await core.settle()
            busy = await core.store.run(
                lambda s: s.exec(
                    select(func.count())
                    .select_from(Delivery)
                    .where(col(Delivery.state).in_([DeliveryState.QUEUED, DeliveryState.SENDING]))
                ).one()
            )
            if not busy and not bolt_listeners():
                break
            if busy:
                await asyncio.sleep(0.02)
    await core.settle()
