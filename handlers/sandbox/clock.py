"""The sandbox's clock: the real time plus however far the person jumped ahead.

Crier's core takes its time from one injectable clock, so jumping ahead here makes the
scheduler see reminders come due, without anything in Crier knowing it is a sandbox. The
simulated workspace stamps its messages with the same clock, so one time shows everywhere.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.core import Core
from bot.storage.models import Job

MAX_OFFSET = timedelta(days=28)
# A jump stops at each job's due time on its way; past this many stops the rest of the jump is
# made at once (a day with a sev1 draft waiting is 288 approval reminders, one a stop: ~4 s).
MOST_STOPS = 400
SETTLE_ROUNDS = 20


class JumpingClock:
    def __init__(self) -> None:
        self.offset = timedelta()
        self._jumping = asyncio.Lock()  # two clicks jump one after the other

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def _ahead_to(self, offset: timedelta) -> None:
        # Never back: reminders already fired cannot be undone.
        self.offset = max(self.offset, min(offset, MAX_OFFSET))

    async def jump(self, core: Core, minutes: int) -> int:
        """Move ahead ``minutes``, stopping at each job's due time on the way and running what
        is due there, so that every reminder fires at its own time, in order, and the chat
        messages and posts it causes carry that time, as if the minutes had really passed
        (a single leap would fire them all at the end, each "late while Crier was
        unavailable"). Returns how many stops it made."""
        async with self._jumping:
            target = min(self.offset + timedelta(minutes=max(0, minutes)), MAX_OFFSET)
            stops = 0
            await _settle(core)
            while stops < MOST_STOPS:
                due = await core.store.read(functools.partial(_next_due, after=self.now()))
                if due is None or due - datetime.now(UTC) >= target:
                    break
                self._ahead_to(due - datetime.now(UTC))
                stops += 1
                await _settle(core)
            self._ahead_to(target)
            await _settle(core)
            return stops


def _next_due(session: Session, *, after: datetime) -> datetime | None:
    """The soonest due time of a live job later than ``after``."""
    due = session.exec(
        select(func.min(Job.due_at)).where(col(Job.done_at).is_(None), col(Job.due_at) > after)
    ).one()
    if due is not None and due.tzinfo is None:  # SQLite hands back naive UTC
        due = due.replace(tzinfo=UTC)
    return due


async def _settle(core: Core) -> None:
    """Run what is due now until nothing is: reminders and the calendar, the chat work they
    ask for, the publishing they release and the subscribers' emails it causes (a bounded
    number of rounds: each may cause the next, but a jump must end)."""
    # The emails' scheduler too: a notification retried later is due at a stop of the jump,
    # and is sent there, with that time, like a reminder.
    schedulers = [core.scheduler]
    if core.subscriptions is not None:
        schedulers.append(core.subscriptions.scheduler)
    for _ in range(SETTLE_ROUNDS):
        for scheduler in schedulers:
            await scheduler.drain()
        await core.settle()
        published = await core.publishing.run_once()
        if published or not await core.work.idle():
            continue
        if all([await scheduler.idle() for scheduler in schedulers]):
            return
