"""The core's face for the content calendar (``bot.scheduling.calendar``): scheduled marketing
posts, proposed by staff, scheduled by an approver who is not their author, held while an outage is
on, then posted or skipped by an approver.

Every decision passes ``Gate.check`` here, so Slack, Teams and the CLI are held to the same rule.
A recurring series' posts (authored by crier.yml, so any approver may approve them) come in
batches: *Approve all* schedules a batch's waiting posts at once; *Skip* drops one post.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import CrierConfig, Network
from bot.incidents.approvers import Gate
from bot.ports import Actor, Clock
from bot.scheduling import calendar, calendar_pause
from bot.scheduling.calendar import CalendarBatch, CalendarEntry
from bot.storage.store import Store

NOT_AN_APPROVER = (
    "Only approvers can approve scheduled posts. Ask one of the approvers to look at it."
)
OWN_POST = "You proposed this post, so another approver needs to approve it."


@dataclass
class ContentCalendar:
    store: Store
    config: CrierConfig
    clock: Clock
    wake_scheduler: Callable[[], None]
    wake_publisher: Callable[[], None]
    gate: Gate

    async def add(
        self,
        actor: Actor,
        *,
        text: str,
        channels: tuple[Network, ...],
        due_at: datetime,
        where: str | None = None,
    ) -> CalendarEntry:
        """Propose a post; it waits for an approver, who is shown it in chat (``where``: the
        chat channel it was proposed from). Anyone may propose."""
        entry = await self.store.run(
            lambda s: calendar.add(
                s,
                config=self.config,
                text=text,
                channels=channels,
                due_at=due_at,
                actor=actor,
                now=self.clock.now(),
                where=where,
            )
        )
        self.wake_scheduler()  # shows it to the approvers now
        return entry

    async def entry(self, scheduled_post_id: int) -> CalendarEntry:
        return await self.store.read(lambda s: calendar.get(s, scheduled_post_id))

    async def approve(self, actor: Actor, scheduled_post_id: int) -> CalendarEntry:
        """Schedule a pending post. Raises NotAllowed (audited) or Conflict."""
        entry = await self._decide(actor, scheduled_post_id, approved=True)
        self.wake_scheduler()  # its time may be sooner than the scheduler's next look
        return entry

    async def reject(self, actor: Actor, scheduled_post_id: int) -> CalendarEntry:
        return await self._decide(actor, scheduled_post_id, approved=False)

    async def _decide(
        self, actor: Actor, scheduled_post_id: int, *, approved: bool
    ) -> CalendarEntry:
        proposed = await self.entry(scheduled_post_id)
        await self.gate.check(
            actor,
            action="calendar_approve" if approved else "calendar_reject",
            refusal=NOT_AN_APPROVER if approved else "Only approvers can reject scheduled posts.",
            # Its author may turn it down, not schedule it.
            author=proposed.created_by if approved else None,
            own=OWN_POST,
            detail={"scheduled_post_id": proposed.id},
        )
        return await self.store.run(
            lambda s: calendar.decide(
                s,
                config=self.config,
                scheduled_post_id=scheduled_post_id,
                approved=approved,
                actor=actor,
                now=self.clock.now(),
            )
        )

    async def batch(self, batch_id: int) -> CalendarBatch:
        return await self.store.read(lambda s: calendar.batch(s, batch_id))

    async def approve_all(self, actor: Actor, batch_id: int) -> CalendarBatch:
        """*Approve all*: schedule every post of a batch still waiting for an approver, in one
        transaction, each going out at its time. The author rule holds for each of its posts'
        authors (crier.yml's series are the config's: any approver). Raises NotAllowed
        (audited), NotFound, or Conflict when none is waiting any more."""
        proposed = await self.batch(batch_id)
        for author in sorted({e.created_by for e in proposed.waiting}):
            await self.gate.check(
                actor,
                action="calendar_approve",
                refusal=NOT_AN_APPROVER,
                author=author,
                own=OWN_POST,
                detail={"batch": batch_id},
            )
        approved = await self.store.run(
            lambda s: calendar.approve_batch(
                s, batch_id=batch_id, actor=actor, now=self.clock.now()
            )
        )
        self.wake_scheduler()  # the first may be due sooner than the scheduler's next look
        return approved

    async def skip(self, actor: Actor, scheduled_post_id: int) -> CalendarEntry:
        """*Skip*: an approver drops a post waiting for approval, or approved and not yet
        due; it is never published. Raises NotAllowed (audited), NotFound or Conflict."""
        await self.gate.check(
            actor,
            action="calendar_skip",
            refusal="Only approvers can skip scheduled posts.",
            detail={"scheduled_post_id": scheduled_post_id},
        )
        return await self.store.run(
            lambda s: calendar.skip(
                s, scheduled_post_id=scheduled_post_id, actor=actor, now=self.clock.now()
            )
        )

    async def resume(self, actor: Actor, scheduled_post_id: int, *, publish: bool) -> CalendarEntry:
        """After the all-clear (or the maintenance), an approver posts a held post now, or skips
        it."""
        await self.gate.check(
            actor,
            action="calendar_resume",
            refusal="Only approvers can post or skip a held scheduled post.",
            detail={"scheduled_post_id": scheduled_post_id, "published": publish},
        )
        entry = await self.store.run(
            lambda s: calendar_pause.resume(
                s,
                scheduled_post_id=scheduled_post_id,
                publish=publish,
                actor=actor,
                now=self.clock.now(),
            )
        )
        self.wake_publisher()
        return entry
