"""The core's face for the content calendar (``bot.calendar``): scheduled marketing posts,
added by staff, held while an outage is on, resumed or skipped by an approver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot import calendar
from bot.calendar import CalendarEntry
from bot.config import CrierConfig, Network
from bot.ports import Actor, Clock
from bot.store import Store


@dataclass
class ContentCalendar:
    store: Store
    config: CrierConfig
    clock: Clock
    wake_scheduler: Callable[[], None]
    wake_publisher: Callable[[], None]

    async def add(
        self, actor: Actor, *, text: str, channels: tuple[Network, ...], due_at: datetime
    ) -> CalendarEntry:
        entry = await self.store.run(
            lambda s: calendar.add(
                s,
                config=self.config,
                text=text,
                channels=channels,
                due_at=due_at,
                actor=actor,
                now=self.clock.now(),
            )
        )
        self.wake_scheduler()  # its due time may be sooner than the scheduler's next look
        return entry

    async def resume(self, actor: Actor, scheduled_post_id: int, *, publish: bool) -> CalendarEntry:
        entry = await self.store.run(
            lambda s: calendar.resume(
                s,
                scheduled_post_id=scheduled_post_id,
                publish=publish,
                actor=actor,
                now=self.clock.now(),
            )
        )
        self.wake_publisher()
        return entry
