"""The core's face for planned maintenance (``bot.maintenance.series``), and its jobs.

Anyone may plan a maintenance; an approver who did not plan it approves the series (every
decision passes ``Gate.check``, so Slack, Teams and the CLI are held to the same rule). The jobs
publish each post at its time and, at the window's end, ask for the work to be marked complete.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from bot.config import CrierConfig, Network
from bot.drafting.drafter import Drafter
from bot.incidents.approvers import Gate
from bot.maintenance import changes, series
from bot.maintenance.series import (
    MaintenanceRequest,
    MaintenanceShown,
    MaintenanceView,
    SeriesPost,
    ShowReason,
)
from bot.maintenance.window import Window
from bot.ports import Actor, Clock
from bot.scheduling import jobs
from bot.scheduling.jobs import JobHandler, JobRun
from bot.storage.models import Maintenance, MaintenanceState
from bot.storage.store import Store

NOT_AN_APPROVER = "Only approvers can approve a maintenance's posts. Ask one of the approvers."
OWN_SERIES = "You planned this maintenance, so another approver needs to approve its posts."
SHOW = "maintenance_show"  # a row per time a maintenance is to be shown in chat
OWN_CHANGE = "You asked for this, so another approver needs to approve it."
NOT_YOURS = "Only who planned this maintenance, or an approver, can change or cancel it."


@dataclass
class MaintenanceDesk:
    store: Store
    config: CrierConfig
    clock: Clock
    drafter: Drafter
    gate: Gate
    wake_scheduler: Callable[[], None]
    wake_publisher: Callable[[], None]
    # Marks a job done in the caller's transaction (``Scheduler.finish_in``).
    finish: Callable[[Session, JobRun, str], None]
    # Every chat shows it (``ChatShows.maintenance``); ``where``: a channel to fall back on.
    show: Callable[[MaintenanceShown, str | None], Awaitable[None]]

    async def propose(
        self, actor: Actor, request: MaintenanceRequest, *, where: str | None = None
    ) -> MaintenanceView:
        """Draft the series; the approvers are shown it in chat (``where``: the chat channel it
        was planned from, where a chat has no comms channel)."""

        def propose(session: Session) -> MaintenanceView:
            planned = series.propose(
                session,
                config=self.config,
                drafter=self.drafter,
                actor=actor,
                request=request,
                now=self.clock.now(),
                where=where,
            )
            self._show_later(session, planned.id, ShowReason.REVIEW, where=where)
            return planned

        planned = await self.store.run(propose)
        self.wake_scheduler()
        return planned

    async def edit(
        self,
        actor: Actor,
        maintenance_id: int,
        request: MaintenanceRequest,
        *,
        where: str | None = None,
    ) -> MaintenanceView:
        """Change a maintenance that has not begun: its series is drafted again and shown for
        approval again. Its planner or an approver may (NotAllowed, audited, for anyone else)."""
        await self._check_planner_or_approver(actor, maintenance_id, action="maintenance_edit")

        def edit(session: Session) -> MaintenanceView:
            edited = series.edit(
                session,
                config=self.config,
                drafter=self.drafter,
                maintenance_id=maintenance_id,
                request=request,
                actor=actor,
                now=self.clock.now(),
            )
            self._show_later(session, maintenance_id, ShowReason.REVIEW, where=where)
            return edited

        edited = await self.store.run(edit)
        self.wake_scheduler()
        return edited

    async def view(self, maintenance_id: int) -> MaintenanceView:
        return await self.store.read(lambda s: series.view(s, maintenance_id))

    async def to_edit(self, actor: Actor, maintenance_id: int) -> MaintenanceRequest:
        """The maintenance as a request, to fill the form that edits it: refused (NotAllowed,
        Conflict) before the form opens when ``edit`` would refuse its submission."""
        await self._check_planner_or_approver(actor, maintenance_id, action="maintenance_edit")
        now = self.clock.now()

        def current(session: Session) -> MaintenanceRequest:
            found = series.view(session, maintenance_id)  # NotFound
            row = session.get_one(Maintenance, maintenance_id)
            series.check_editable(row, now=now)  # said before the person fills the form in
            return MaintenanceRequest(
                services=found.services,
                title=row.title,
                what_users_notice=row.what_users_notice,
                what_to_do=row.what_to_do,
                window=Window(starts_at=row.starts_at, ends_at=row.ends_at),
                announce_at=row.announce_at,
                remind_before=timedelta(minutes=row.remind_before_minutes) or None,
                channels=tuple(Network(c) for c in row.channels if c in set(Network)),
            )

        return await self.store.read(current)

    async def _check_planner_or_approver(
        self, actor: Actor, maintenance_id: int, *, action: str
    ) -> None:
        """Its planner may change or call off their own maintenance; anyone else must be an
        approver (the change is approved by an approver anyway, but a cancellation with nothing
        public yet takes effect at once)."""
        planned = await self.view(maintenance_id)
        if planned.created_by == actor.key:
            return
        await self.gate.check(
            actor, action=action, refusal=NOT_YOURS, detail={"maintenance_id": maintenance_id}
        )

    async def approve(
        self, actor: Actor, maintenance_id: int, *, revision: int | None = None
    ) -> MaintenanceView:
        """Approve every post of the series at once (``revision``: the one the approver was
        shown; if it was edited since, Conflict). Raises NotAllowed (audited) or Conflict."""
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
                s,
                maintenance_id=maintenance_id,
                actor=actor,
                now=self.clock.now(),
                revision=revision,
            )
        )
        self.wake_scheduler()  # the announcement may be due now
        return approved

    async def reject(
        self, actor: Actor, maintenance_id: int, *, revision: int | None = None
    ) -> MaintenanceView:
        await self.gate.check(
            actor,
            action="maintenance_reject",
            refusal="Only approvers can reject a maintenance's posts.",
            detail={"maintenance_id": maintenance_id},
        )
        return await self.store.run(
            lambda s: series.reject(
                s,
                maintenance_id=maintenance_id,
                actor=actor,
                now=self.clock.now(),
                revision=revision,
            )
        )

    async def complete(self, actor: Actor, maintenance_id: int) -> MaintenanceView:
        """The work is done: its approved completion goes out now (anyone on staff may say so:
        the words were approved with the series)."""
        done = await self.store.run(
            lambda s: changes.complete(
                s, maintenance_id=maintenance_id, actor=actor, now=self.clock.now()
            )
        )
        self.wake_publisher()
        return done

    async def extend(
        self, actor: Actor, maintenance_id: int, by: timedelta, *, where: str | None = None
    ) -> SeriesPost:
        """Draft the word that the work runs late, shown to the approvers; its approval moves
        the window's end."""

        def extend(session: Session) -> SeriesPost:
            change = changes.extend(
                session,
                config=self.config,
                drafter=self.drafter,
                maintenance_id=maintenance_id,
                by=by,
                actor=actor,
                now=self.clock.now(),
            )
            self._show_later(session, maintenance_id, ShowReason.CHANGE, where=where, change=change)
            return change

        change = await self.store.run(extend)
        self.wake_scheduler()
        return change

    async def cancel(
        self, actor: Actor, maintenance_id: int, *, where: str | None = None
    ) -> SeriesPost | None:
        """Call it off: at once while nothing is public (None), else a cancellation drafted
        for approval and shown to the approvers. Its planner or an approver may."""
        await self._check_planner_or_approver(actor, maintenance_id, action="maintenance_cancel")

        def cancel(session: Session) -> SeriesPost | None:
            change = changes.cancel(
                session,
                config=self.config,
                drafter=self.drafter,
                maintenance_id=maintenance_id,
                actor=actor,
                now=self.clock.now(),
            )
            if change is not None:
                self._show_later(
                    session, maintenance_id, ShowReason.CHANGE, where=where, change=change
                )
            return change

        change = await self.store.run(cancel)
        self.wake_scheduler()
        return change

    async def decide_change(
        self, actor: Actor, maintenance_post_id: int, *, approved: bool
    ) -> MaintenanceView:
        """An approver (not who asked for it) approves or rejects an extension or a
        cancellation; approved, it goes out now."""
        asked_by = await self.store.read(lambda s: changes.requested_by(s, maintenance_post_id))
        await self.gate.check(
            actor,
            action="maintenance_change_approve" if approved else "maintenance_change_reject",
            refusal=NOT_AN_APPROVER,
            author=asked_by if approved else None,
            own=OWN_CHANGE,
            detail={"maintenance_post_id": maintenance_post_id},
        )

        def decide(session: Session) -> MaintenanceView:
            now = self.clock.now()
            decided = changes.decide_post(
                session,
                maintenance_post_id=maintenance_post_id,
                approved=approved,
                actor=actor,
                now=now,
            )
            under_way = decided.state in (MaintenanceState.SCHEDULED, MaintenanceState.IN_PROGRESS)
            if not approved and under_way and now >= decided.window.ends_at:
                # The extension was its way to answer "is it done?": ask again.
                reason, where = ShowReason.OVERDUE, decided.planned_where
                self._show_later(session, decided.id, reason, where=where)
            return decided

        decided = await self.store.run(decide)
        self.wake_publisher()
        self.wake_scheduler()  # the window's end may have moved
        return decided

    # --- jobs ------------------------------------------------------------------------------

    def handlers(self) -> dict[str, JobHandler]:
        return {
            series.POST_DUE: self._post_due,
            series.WINDOW_END: self._window_end,
            SHOW: self._show,
        }

    async def _post_due(self, run: JobRun) -> None:
        """Write the post's deliveries and mark this job done in one transaction: a kill
        before it commits leaves both undone, to be run again whole."""
        post_id = int(run.payload["maintenance_post_id"])

        def release(session: Session) -> None:
            released = series.post_due(session, maintenance_post_id=post_id, now=self.clock.now())
            outcome = "no longer goes out" if released is None else f"published {released.kind}"
            self.finish(session, run, outcome)

        await self.store.run(release)
        self.wake_publisher()

    async def _window_end(self, run: JobRun) -> str:
        maintenance = await self.view(int(run.payload["maintenance_id"]))
        if maintenance.state not in (MaintenanceState.SCHEDULED, MaintenanceState.IN_PROGRESS):
            return f"already {maintenance.state}"
        shown = MaintenanceShown(maintenance, ShowReason.OVERDUE)
        await self.show(shown, maintenance.planned_where)
        return "asked"

    async def _show(self, run: JobRun) -> str:
        maintenance = await self.view(int(run.payload["maintenance_id"]))
        change_id = run.payload.get("change")
        change = next((p for p in maintenance.posts if p.id == change_id), None)
        where = run.payload.get("where")
        reason = str(run.payload["reason"])
        await self.show(MaintenanceShown(maintenance, reason, change), where)
        return f"shown ({reason})"

    def _show_later(
        self,
        session: Session,
        maintenance_id: int,
        reason: str,
        *,
        where: str | None,
        change: SeriesPost | None = None,
    ) -> None:
        """Show it in chat once this transaction has committed (a row, so never lost)."""
        payload = {
            "maintenance_id": maintenance_id,
            "reason": reason,
            "where": where,
            "change": change.id if change else None,
        }
        jobs.enqueue(session, kind=SHOW, now=self.clock.now(), payload=payload)
