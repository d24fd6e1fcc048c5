"""A command or an interaction does its work once, however often Slack's request arrives.

A slash command or a click re-sent (re-signed, with ``X-Slack-Retry-Num`` or not) must not
declare or approve twice. Its ``trigger_id`` (unique to each command and interaction) is
recorded among the handled event ids (``bot.processed_events``: in the database, so it holds
across replicas) by the first piece of work its listener hands on (``once``), when that work
runs: a second delivery's work finds it recorded and does nothing.

Claimed when the work runs, not before the ack: a request answered at once (``/outage help``)
or turned away ("very busy") costs no write, so the ack stays as fast under a flood.

``guards.OncePerDelivery`` marks which delivery a request is (``CURRENT``, per request: each
runs in a task, or a context, of its own); ``common.later``, ``in_turn`` and ``submit`` pass
their work through ``once``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from bot import processed_events
from bot.core import Core
from bot.store import is_unreachable

log = logging.getLogger(__name__)
T = TypeVar("T")
TRIGGER = "trigger:"  # a trigger_id's key among the event ids, so the two never collide
TRIGGER_ID_MAX = processed_events.KEY_MAX - len(TRIGGER)  # Slack's are about 40 characters


@dataclass
class Delivery:
    """The request being answered, by its Slack id; ``handed_on`` once some work claims it."""

    key: str
    core: Core
    handed_on: bool = False


CURRENT: ContextVar[Delivery | None] = ContextVar("slack_delivery", default=None)


def once(work: Awaitable[T]) -> Coroutine[Any, Any, T | None]:
    """``work``, made to claim the current delivery before it runs and to do nothing (None)
    if an earlier delivery of the same request claimed it. Only the first piece of work of a
    request claims: what a listener hands on after it (a declared form's thread) just runs."""
    delivery = CURRENT.get()
    if delivery is None or delivery.handed_on:
        return _as_it_is(work)
    delivery.handed_on = True

    async def claimed() -> T | None:
        try:
            if not await _first(delivery):
                log.info("dropped Slack delivery %.100s: already handled", delivery.key)
                return None
            return await work
        finally:
            close(work)  # dropped, or cancelled before it started: it must not linger

    return claimed()


def close(work: Awaitable[Any]) -> None:
    """Close a coroutine that will not be awaited (or was): no 'never awaited' warning."""
    if isinstance(work, Coroutine):
        work.close()


async def _as_it_is(work: Awaitable[T]) -> T | None:
    return await work


async def _first(delivery: Delivery) -> bool:
    core, key = delivery.core, delivery.key
    now = core.clock.now()
    try:
        return await core.store.run(lambda s: processed_events.claim(s, event_id=key, at=now))
    except Exception as exc:
        if not is_unreachable(exc):
            raise
        return True  # the work meets the same outage and tells the person so
