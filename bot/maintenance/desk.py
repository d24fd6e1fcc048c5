"""The core's face for planned maintenance (``bot.maintenance.series``), and its jobs.

Anyone may plan a maintenance; an approver who did not plan it approves the series (every
decision passes ``Gate.check``, so Slack, Teams and the CLI are held to the same rule). The jobs
publish each post at its time and, at the window's end, ask for the work to be marked complete.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.config import CrierConfig
from bot.drafting.drafter import Drafter
from bot.drafting.post_times import format_time
from bot.incidents.approvers import Gate
from bot.maintenance import series
from bot.maintenance.series import MaintenanceRequest, MaintenanceView, SeriesPost
from bot.ports import Actor, Clock
from bot.scheduling.jobs import JobHandler, JobRun
from bot.storage.models import MaintenanceState
from bot.storage.store import Store
from bot.views import Notice

NOT_AN_APPROVER = "Only approvers can approve a maintenance's posts. Ask one of the approvers."
OWN_SERIES = "You planned this maintenance, so another approver needs to approve its posts."
OWN_CHANGE = "You asked for this, so another approver needs to approve it."


@dataclass
class MaintenanceDesk:
    store: Store
    config: CrierConfig
    clock: Clock
    drafter: Drafter
    gate: Gate
    wake_scheduler: Callable[[], None]
    wake_publisher: Callable[[], None]
    notice: Callable[[Notice], Awaitable[None]]

    async def propose(self, actor: Actor, request: MaintenanceRequest) -> MaintenanceView:
        return await self.store.run(
            lambda s: series.propose(
                s,
                config=self.config,
                drafter=self.drafter,
                actor=actor,
                request=request,
                now=self.clock.now(),
            )
        )

    async def view(self, maintenance_id: int) -> MaintenanceView:
        return await self.store.read(lambda s: series.view(s, maintenance_id))

    async def approve(self, actor: Actor, maintenance_id: int) -> MaintenanceView:
        """Approve every post of the series at once. Raises NotAllowed (audited) or Conflict."""
        planned = await self.view(maintenance_id)
        await self.gate.check(
            actor,
            action="maintenance_approve",
            refusal=NOT_AN_APPROVER,
            author=planned.created_by,
            own=OWN_SERIES,
            detail={"maintenance_id": maintenance_id},
        )
        approved = await self.store.run(
            lambda s: series.approve(
                s, maintenance_id=maintenance_id, actor=actor, now=self.clock.now()
            )
        )
        self.wake_scheduler()  # the announcement may be due now
        return approved

    async def reject(self, actor: Actor, maintenance_id: int) -> MaintenanceView:
        await self.gate.check(
            actor,
            action="maintenance_reject",
            refusal="Only approvers can reject a maintenance's posts.",
            detail={"maintenance_id": maintenance_id},
        )
        return await self.store.run(
            lambda s: series.reject(
                s, maintenance_id=maintenance_id, actor=actor, now=self.clock.now()
            )
        )

    async def complete(self, actor: Actor, maintenance_id: int) -> MaintenanceView:
        """The work is done: its approved completion goes out now (anyone on staff may say so:
        the words were approved with the series)."""
        done = await self.store.run(
            lambda s: series.complete(
                s, maintenance_id=maintenance_id, actor=actor, now=self.clock.now()
            )
        )
        self.wake_publisher()
        return done

    async def extend(self, actor: Actor, maintenance_id: int, by: timedelta) -> SeriesPost:
        """Draft the word that the work runs late; its approval moves the window's end."""
        return await self.store.run(
            lambda s: series.extend(
                s,
                config=self.config,
                drafter=self.drafter,
                maintenance_id=maintenance_id,
                by=by,
                actor=actor,
                now=self.clock.now(),
            )
        )

    async def cancel(self, actor: Actor, maintenance_id: int) -> SeriesPost | None:
        """Call it off: at once while nothing is public (None), else a cancellation drafted
        for approval."""
        return await self.store.run(
            lambda s: series.cancel(
                s,
                config=self.config,
                drafter=self.drafter,
                maintenance_id=maintenance_id,
                actor=actor,
                now=self.clock.now(),
            )
        )

    async def decide_change(
        self, actor: Actor, maintenance_post_id: int, *, approved: bool
    ) -> MaintenanceView:
        """An approver (not who asked for it) approves or rejects an extension or a
        cancellation; approved, it goes out now."""
        asked_by = await self.store.read(lambda s: series.requested_by(s, maintenance_post_id))
        await self.gate.check(
            actor,
            action="maintenance_change_approve" if approved else "maintenance_change_reject",
            refusal=NOT_AN_APPROVER,
            author=asked_by if approved else None,
            own=OWN_CHANGE,
            detail={"maintenance_post_id": maintenance_post_id},
        )
        decided = await self.store.run(
            lambda s: series.decide_post(
                s,
                maintenance_post_id=maintenance_post_id,
                approved=approved,
                actor=actor,
                now=self.clock.now(),
            )
        )
        self.wake_publisher()
        self.wake_scheduler()  # the window's end may have moved
        return decided

    # --- jobs ------------------------------------------------------------------------------

    def handlers(self) -> dict[str, JobHandler]:
        return {series.POST_DUE: self._post_due, series.WINDOW_END: self._window_end}

    async def _post_due(self, run: JobRun) -> str:
        post_id = int(run.payload["maintenance_post_id"])
        released = await self.store.run(
            lambda s: series.post_due(s, maintenance_post_id=post_id, now=self.clock.now())
        )
        if released is None:
            return "no longer goes out"
        self.wake_publisher()
        return f"published {released.kind.value}"

    async def _window_end(self, run: JobRun) -> str:
        maintenance = await self.view(int(run.payload["maintenance_id"]))
        if maintenance.state not in (MaintenanceState.SCHEDULED, MaintenanceState.IN_PROGRESS):
            return f"already {maintenance.state}"
        zone = self.config.organisation.zone
        await self.notice(
            Notice(
                kind="maintenance_overdue",
                title=f"Is the maintenance of {', '.join(maintenance.services)} done?",
                text=(
                    f"“{maintenance.title}” was planned to end at "
                    f"{format_time(maintenance.window.ends_at, zone)}. When it is done, "
                    f"`/outage maintenance complete {maintenance.id}` publishes its approved "
                    "completion post."
                ),
                mention_comms_lead=True,
            )
        )
        return "asked"
