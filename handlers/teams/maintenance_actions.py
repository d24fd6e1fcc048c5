"""What the maintenance cards' buttons do in Teams: plan one from the form, approve or reject its
series, approve or reject an extension or a cancellation, mark the work complete or extend it;
edit it (the form, filled in, for the clicker; saved, the series drafted again) or cancel it.

Each calls the core (which says who may) and answers with the card saying what happened and who,
without buttons, for everyone; a refusal comes back to the clicker on the card as it stands
(``refused``), as the calendar's decisions do.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from bot.core import Core
from bot.drafting.post_times import format_duration
from bot.errors import CrierError, InvalidInput
from bot.maintenance.series import MaintenanceShown, ShowReason
from handlers.teams import cards
from handlers.teams.elements import Element
from handlers.teams.forms import Form
from handlers.teams.ids import Data, Verb
from handlers.teams.maintenance_card import decided_line, maintenance_card, when
from handlers.teams.maintenance_form import filled_in, maintenance_form, maintenance_request
from handlers.teams.maintenance_places import people_in, planned_from, reference_in
from handlers.teams.presenter import TeamsPresenter
from handlers.teams.turns import Turn, for_teams

log = logging.getLogger(__name__)
Handler = Callable[[Turn], Awaitable[Element | str]]
REASONS = {
    Verb.MAINTENANCE_APPROVE: ShowReason.REVIEW,
    Verb.MAINTENANCE_REJECT: ShowReason.REVIEW,
    Verb.MAINTENANCE_CHANGE_APPROVE: ShowReason.CHANGE,
    Verb.MAINTENANCE_CHANGE_REJECT: ShowReason.CHANGE,
    Verb.MAINTENANCE_COMPLETE: ShowReason.OVERDUE,
    Verb.MAINTENANCE_EXTEND: ShowReason.OVERDUE,
    Verb.MAINTENANCE_EDIT_FORM: ShowReason.REVIEW,
    Verb.MAINTENANCE_EDIT: ShowReason.REVIEW,
    Verb.MAINTENANCE_CANCEL: ShowReason.REVIEW,
}
MAINTENANCE_VERBS = {Verb.MAINTENANCE_PLAN, *REASONS}


class MaintenanceActions:
    def __init__(self, *, core: Core, presenter: TeamsPresenter) -> None:
        self._core = core
        self._presenter = presenter

    def verbs(self) -> dict[str, Handler]:
        return {
            Verb.MAINTENANCE_PLAN: self.plan,
            Verb.MAINTENANCE_APPROVE: partial(self.decide_series, approve=True),
            Verb.MAINTENANCE_REJECT: partial(self.decide_series, approve=False),
            Verb.MAINTENANCE_CHANGE_APPROVE: partial(self.decide_change, approve=True),
            Verb.MAINTENANCE_CHANGE_REJECT: partial(self.decide_change, approve=False),
            Verb.MAINTENANCE_COMPLETE: self.complete,
            Verb.MAINTENANCE_EXTEND: self.extend,
            Verb.MAINTENANCE_EDIT_FORM: self.edit_form,
            Verb.MAINTENANCE_EDIT: self.edit,
            Verb.MAINTENANCE_CANCEL: self.cancel,
        }

    async def plan(self, turn: Turn) -> Element:
        """*Plan maintenance* on the form: the series is drafted and shown to the approvers in
        this conversation; the form becomes a line saying so, for everyone."""
        config = self._core.config
        request = maintenance_request(turn.form, config, now=self._core.clock.now())
        planned = await self._core.maintenance.propose(
            turn.actor, request, where=planned_from(turn.reference)
        )
        said = (
            f"{self._name(turn)} planned maintenance #{planned.id} "
            f"({', '.join(planned.services)}: {planned.title}); its posts wait for an approver."
        )
        return await self._for_everyone(turn, cards.done_card(said))

    async def decide_series(self, turn: Turn, *, approve: bool) -> Element:
        maintenance_id = turn.form.number(Data.MAINTENANCE_ID)
        desk = self._core.maintenance
        decide = desk.approve if approve else desk.reject
        revision = turn.form.number(Data.REVISION) or None
        decided = await decide(turn.actor, maintenance_id, revision=revision)
        after = ": each post goes out at its time." if approve else ": none of it goes out."
        said = "Approved by" if approve else "Rejected by"
        return await self._answer(turn, MaintenanceShown(decided, ShowReason.REVIEW), said, after)

    async def decide_change(self, turn: Turn, *, approve: bool) -> Element:
        change_id = turn.form.number(Data.CHANGE_ID)
        decided = await self._core.maintenance.decide_change(
            turn.actor, change_id, approved=approve
        )
        change = next((p for p in decided.posts if p.id == change_id), None)
        shown = MaintenanceShown(decided, ShowReason.CHANGE, change)
        if approve:
            return await self._answer(turn, shown, "Approved by", ": it goes out now.")
        answer = await self._answer(turn, shown, "Rejected by", ": it does not go out.")
        return answer

    async def complete(self, turn: Turn) -> Element:
        done = await self._core.maintenance.complete(
            turn.actor, turn.form.number(Data.MAINTENANCE_ID)
        )
        shown = MaintenanceShown(done, ShowReason.OVERDUE)
        return await self._answer(
            turn, shown, "Marked complete by", ": the completion goes out now."
        )

    async def extend(self, turn: Turn) -> Element:
        """An extension drafted for an approver (shown below); this card says who asked."""
        maintenance_id = turn.form.number(Data.MAINTENANCE_ID)
        by = timedelta(minutes=turn.form.number(Data.EXTEND_MINUTES))
        desk = self._core.maintenance
        await desk.extend(turn.actor, maintenance_id, by, where=planned_from(turn.reference))
        shown = MaintenanceShown(await desk.view(maintenance_id), ShowReason.OVERDUE)
        after = f": an extension by {format_duration(by)} waits for an approver."
        return await self._answer(turn, shown, "Extension asked by", after)

    async def edit_form(self, turn: Turn) -> Element:
        """*Edit*: the form filled in, for the clicker alone (refused before it opens if the
        edit would be)."""
        maintenance_id = turn.form.number(Data.MAINTENANCE_ID)
        current = await self._core.maintenance.to_edit(turn.actor, maintenance_id)
        config = self._core.config
        return maintenance_form(config, again=filled_in(current, config), editing=maintenance_id)

    async def edit(self, turn: Turn) -> Element:
        """*Save changes*: the series drafted again and shown to the approvers anew; this card
        (the series it showed) says so, for everyone."""
        maintenance_id = turn.form.number(Data.MAINTENANCE_ID)
        request = maintenance_request(turn.form, self._core.config, now=self._core.clock.now())
        edited = await self._core.maintenance.edit(
            turn.actor, maintenance_id, request, where=planned_from(turn.reference)
        )
        said = (
            f"{self._name(turn)} edited maintenance #{edited.id} "
            f"({', '.join(edited.services)}: {edited.title}); its new posts wait for an approver."
        )
        return await self._for_everyone(turn, cards.done_card(said))

    async def cancel(self, turn: Turn) -> Element:
        """Called off at once while nothing is public, else a cancellation drafted for an
        approver (shown below); this card says which."""
        maintenance_id = turn.form.number(Data.MAINTENANCE_ID)
        desk = self._core.maintenance
        change = await desk.cancel(turn.actor, maintenance_id, where=planned_from(turn.reference))
        shown = MaintenanceShown(await desk.view(maintenance_id), ShowReason.REVIEW)
        if change is None:
            return await self._answer(turn, shown, "Cancelled by", ": none of it goes out.")
        after = ": its announcement is out, so a cancellation waits for an approver."
        return await self._answer(turn, shown, "Cancellation asked by", after)

    async def refused(self, turn: Turn, error: CrierError) -> Element:
        """The form again with the problem, or the card as it stands with the refusal on top."""
        message = for_teams(error.message)
        editing = turn.verb == Verb.MAINTENANCE_EDIT and isinstance(error, InvalidInput)
        if turn.verb == Verb.MAINTENANCE_PLAN or editing:
            fields = error.fields if isinstance(error, InvalidInput) else {}
            again = Form(turn.form.inputs, fields, message)
            maintenance_id = turn.form.number(Data.MAINTENANCE_ID) if editing else None
            return maintenance_form(self._core.config, again=again, editing=maintenance_id)
        maintenance = await self._core.maintenance.view(turn.form.number(Data.MAINTENANCE_ID))
        change_id = turn.form.number(Data.CHANGE_ID)
        change = next((p for p in maintenance.posts if p.id == change_id), None)
        shown = MaintenanceShown(maintenance, REASONS[Verb(turn.verb)], change)
        return await self._card(turn, shown, message=message)

    # --- helpers ------------------------------------------------------------------------------

    async def _answer(self, turn: Turn, shown: MaintenanceShown, said: str, after: str) -> Element:
        at = when(self._core.clock.now(), self._core.config.organisation.zone)
        refused = said.startswith(("Rejected", "Cancelled by"))
        icon = "🚫" if refused else "⏳" if "asked" in said else "✅"
        outcome = decided_line(icon, said, self._name(turn), f" on {at}{after}")
        return await self._for_everyone(turn, await self._card(turn, shown, outcome=outcome))

    async def _card(
        self,
        turn: Turn,
        shown: MaintenanceShown,
        *,
        message: str | None = None,
        outcome: Element | None = None,
    ) -> Element:
        """The card, naming the Teams people who planned it and who clicked."""
        planned = reference_in(shown.maintenance.planned_where)
        people = people_in([*([planned] if planned else []), turn.reference])
        return maintenance_card(
            shown,
            zone=self._core.config.organisation.zone,
            now=self._core.clock.now(),
            people=people,
            message=message,
            outcome=outcome,
        )

    async def _for_everyone(self, turn: Turn, card: Element) -> Element:
        """``card`` in place of the clicked one, for everyone (the clicker sees it at once)."""
        if turn.card_id:
            await self._presenter.replace(turn.reference, turn.card_id, card)
        return card

    @staticmethod
    def _name(turn: Turn) -> str:
        return turn.actor.name or "Someone"
