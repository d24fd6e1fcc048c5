"""What the content calendar's jobs do when they fire: a post's time came (published, or held
by an open incident and said so in its thread), a post was proposed (shown to the approvers),
or an all-clear was given (the held posts offered again). The calendar's use cases are in
``bot.scheduling.calendar``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import CrierConfig
from bot.drafting.post_times import format_time
from bot.ports import Clock
from bot.scheduling.calendar import DUE, RESUME, REVIEW, CalendarEntry, CalendarState, entry
from bot.scheduling.calendar_pause import (
    RESUME_AFTER_MAINTENANCE,
    held_for,
    held_for_maintenance,
    hold_or_release,
)
from bot.scheduling.jobs import JobHandler, JobRun
from bot.scheduling.reminder_jobs import Notify
from bot.storage.models import ScheduledPost
from bot.storage.store import Store
from bot.views import Notice, Reminder, ReminderAction


@dataclass
class CalendarJobs:
    store: Store
    config: CrierConfig
    clock: Clock
    notify: Notify
    wake_publisher: Callable[[], None]
    show: Callable[[CalendarEntry, str | None], Awaitable[None]]
    # The comms channel: where posts a maintenance held are offered again (it has no thread).
    notice: Callable[[Notice], Awaitable[None]]

    def handlers(self) -> dict[str, JobHandler]:
        return {
            DUE: self.due,
            RESUME: self.offer_resume,
            RESUME_AFTER_MAINTENANCE: self.offer_after_maintenance,
            REVIEW: self.review,
        }

    async def review(self, run: JobRun) -> str:
        """A post was proposed: show it to the approvers, with *Approve* and *Reject*."""
        post_id = int(run.payload.get("scheduled_post_id", 0))
        found = await self.store.read(lambda s: s.get(ScheduledPost, post_id))
        if found is None or found.state != CalendarState.PENDING:
            return "already decided"
        await self.show(entry(found), run.payload.get("where"))
        return "shown"

    def _when(self, at: datetime) -> str:
        return format_time(at, self.config.organisation.zone)

    async def due(self, run: JobRun) -> str:
        post_id = int(run.payload.get("scheduled_post_id", 0))
        now = self.clock.now()
        pauses = self.config.maintenance.pauses_calendar
        outcome, held = await self.store.run(
            lambda s: hold_or_release(
                s, scheduled_post_id=post_id, now=now, maintenance_pauses=pauses
            )
        )
        if outcome == "published":
            self.wake_publisher()
        elif outcome == "held" and held is not None and held.held_by is not None:
            await self.notify(
                held.held_by,
                Reminder(
                    kind="calendar_held",
                    text=f"Held a scheduled post due at {self._when(held.due_at)} while this "
                    f"incident is open: “{_excerpt(held.text)}”. The all-clear will offer "
                    "to post it or skip it.",
                ),
            )
        elif outcome == "held" and held is not None and held.held_by_maintenance is not None:
            await self.notice(
                Notice(
                    kind="calendar_held",
                    title=f"Held a scheduled post due at {self._when(held.due_at)}",
                    text=f"Maintenance #{held.held_by_maintenance} is under way and crier.yml "
                    f"pauses the calendar during maintenance: “{_excerpt(held.text)}” waits "
                    "until the work is complete, then can be posted or skipped.",
                )
            )
        return outcome

    async def offer_resume(self, run: JobRun) -> str:
        incident_id = run.incident_id or 0
        held = await self.store.read(lambda s: held_for(s, incident_id=incident_id))
        if not held:
            return "nothing held"
        actions: list[ReminderAction] = []
        for item in held[:12]:
            actions.append(ReminderAction("calendar_post", f"Post #{item.id} now", str(item.id)))
            actions.append(ReminderAction("calendar_skip", f"Skip #{item.id}", str(item.id)))
        await self.notify(
            incident_id,
            Reminder(
                kind="calendar_resume",
                text=f"While this incident was open, {len(held)} scheduled post(s) were held. "
                "An approver can post each one now, or skip it:",
                actions=tuple(actions),
                details=tuple(
                    (f"#{item.id} · due {self._when(item.due_at)}", _excerpt(item.text))
                    for item in held[:10]
                ),
            ),
        )
        return "offered"

    async def offer_after_maintenance(self, run: JobRun) -> str:
        """A maintenance that held posts is over: the comms channel is told which, and where to
        post or skip each (the calendar lists them with those buttons)."""
        maintenance_id = int(run.payload.get("maintenance_id", 0))
        held = await self.store.read(
            lambda s: held_for_maintenance(s, maintenance_id=maintenance_id)
        )
        if not held:
            return "nothing held"
        listed = "; ".join(
            f"#{item.id} (due {self._when(item.due_at)}): “{_excerpt(item.text)}”"
            for item in held[:10]
        )
        more = f" and {len(held) - 10} more" if len(held) > 10 else ""
        await self.notice(
            Notice(
                kind="calendar_resume",
                title=f"Maintenance #{maintenance_id} is over: {len(held)} held scheduled "
                "post(s) to post or skip",
                text=f"While it was under way these were held: {listed}{more}. An approver can "
                "post each one now or skip it from the content calendar (/outage calendar in "
                "Slack; “calendar” to Crier in Teams).",
            )
        )
        return "offered"


def _excerpt(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
