"""A command or an interaction does its work once, however often Slack's request arrives.

A slash command or a click re-sent (re-signed, with ``X-Slack-Retry-Num`` or not) must not
open a form twice or save a form twice. Its ``trigger_id`` (unique to each command and
interaction) is recorded among the handled event ids (``bot.storage.processed_events``: in the
database, so it holds across replicas) when its listener starts the work (``first_time``): a second
delivery finds it recorded and does nothing. Work queued as a row (``bot.scheduling.work``: a
declaration, an approval) is keyed by the trigger id instead, in the same single write.

``guards.OncePerDelivery`` marks which delivery a request is (``CURRENT``, per request).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from bot.core import Core
from bot.storage import processed_events
from bot.storage.store import is_unreachable

log = logging.getLogger(__name__)
TRIGGER = "trigger:"  # a trigger_id's key among the event ids, so the two never collide
TRIGGER_ID_MAX = processed_events.KEY_MAX - len(TRIGGER)  # Slack's are about 40 characters


@dataclass
class Delivery:
    """The request being answered, by its Slack id; ``handed_on`` once some work claims it."""

    key: str
    core: Core
    handed_on: bool = False


def trigger_key(body: dict[str, Any]) -> str | None:
    """The key a command or an interaction is marked by among the event ids, if it has one."""
    trigger = body.get("trigger_id")
    if isinstance(trigger, str) and trigger and len(trigger) <= TRIGGER_ID_MAX:
        return TRIGGER + trigger
    return None


CURRENT: ContextVar[Delivery | None] = ContextVar("slack_delivery", default=None)


async def first_time() -> bool:
    """Claim the request being answered by its trigger id; False if an earlier delivery of the
    same request claimed it (its work is done or under way: do nothing)."""
    delivery = CURRENT.get()
    if delivery is None or delivery.handed_on:
        return True
    delivery.handed_on = True
    core, key = delivery.core, delivery.key
    now = core.clock.now()
    try:
        if await core.store.run(lambda s: processed_events.claim(s, event_id=key, at=now)):
            return True
    except Exception as exc:
        if not is_unreachable(exc):
            raise
        return True  # the work meets the same outage and tells the person so
    log.info("dropped Slack delivery %.100s: already handled", key)
    return False
