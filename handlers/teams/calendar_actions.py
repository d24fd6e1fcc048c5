"""What the content calendar's buttons do in Teams, on a recurring series' batch card and on the
next two weeks' card: *Approve*, *Skip*, *Approve all*, *Post now* on a held post, and *Propose
a post* (the form, then the proposal).

Each calls the core (which says who may, through its Gate) and answers with the card as it now
stands, for everyone; a refusal (NotAllowed, Conflict) comes back to the clicker only, on the card
as it stands, as the other calendar decisions do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial

from bot.core import Core
from bot.errors import CrierError, InvalidInput
from handlers.teams.anchors import People
from handlers.teams.calendar_batch import batch_card
from handlers.teams.calendar_form import calendar_form, calendar_request
from handlers.teams.calendar_weeks import next_two_weeks, weeks_card
from handlers.teams.elements import Element
from handlers.teams.forms import Form
from handlers.teams.ids import Data, Verb
from handlers.teams.maintenance_places import people_in, planned_from
from handlers.teams.presenter import TeamsPresenter
from handlers.teams.turns import Turn, for_teams

Handler = Callable[[Turn], Awaitable[Element | str]]
CALENDAR_CARD_VERBS = {
    Verb.CALENDAR_ENTRY_APPROVE,
    Verb.CALENDAR_ENTRY_SKIP,
    Verb.CALENDAR_APPROVE_ALL,
    Verb.CALENDAR_HELD_POST,
    Verb.CALENDAR_HELD_SKIP,
    Verb.CALENDAR_FORM,
    Verb.CALENDAR_PROPOSE,
}


class CalendarActions:
    def __init__(self, *, core: Core, presenter: TeamsPresenter) -> None:
        self._core = core
        self._presenter = presenter

    def verbs(self) -> dict[str, Handler]:
        return {
            Verb.CALENDAR_ENTRY_APPROVE: partial(self.decide, skip=False),
            Verb.CALENDAR_ENTRY_SKIP: partial(self.decide, skip=True),
            Verb.CALENDAR_APPROVE_ALL: self.approve_all,
            Verb.CALENDAR_HELD_POST: partial(self.resume, publish=True),
            Verb.CALENDAR_HELD_SKIP: partial(self.resume, publish=False),
            Verb.CALENDAR_FORM: self.form,
            Verb.CALENDAR_PROPOSE: self.propose,
        }

    async def decide(self, turn: Turn, *, skip: bool) -> Element:
        """*Approve* / *Skip* one post, on a batch's card or the next two weeks'."""
        entry_id, desk = turn.form.number(Data.SCHEDULED_POST_ID), self._core.content_calendar
        entry = await (desk.skip if skip else desk.approve)(turn.actor, entry_id)
        said = "Skipped" if skip else "Approved"
        return await self._for_everyone(turn, f"{said} by {self._name(turn)}: post #{entry.id}.")

    async def approve_all(self, turn: Turn) -> Element:
        batch = await self._core.content_calendar.approve_all(
            turn.actor, turn.form.number(Data.BATCH_ID)
        )
        return await self._for_everyone(turn, f"Batch #{batch.id} approved.")

    async def resume(self, turn: Turn, *, publish: bool) -> Element:
        """*Post now* / *Skip* on a held post (on the next two weeks' card)."""
        entry_id = turn.form.number(Data.SCHEDULED_POST_ID)
        entry = await self._core.content_calendar.resume(turn.actor, entry_id, publish=publish)
        outcome = "is being published" if publish else "was skipped"
        said = f"Scheduled post #{entry.id} {outcome} ({self._name(turn)} decided)."
        return await self._for_everyone(turn, said)

    async def form(self, turn: Turn) -> Element:
        """*Propose a post*: the form, for the clicker (in place of the calendar's card)."""
        return calendar_form(self._core.config, today=self._today())

    async def propose(self, turn: Turn) -> Element:
        """The form's *Propose*: the post waits for an approver, who is shown it; the clicker
        sees the calendar again, with it."""
        text, channels, due = calendar_request(turn.form, self._core.config)
        entry = await self._core.content_calendar.add(
            turn.actor, text=text, channels=channels, due_at=due, where=planned_from(turn.reference)
        )
        said = f"Proposed scheduled post #{entry.id}: it waits for an approver who is not you."
        return await self._weeks(message=said, good_news=True)

    async def refused(self, turn: Turn, error: CrierError) -> Element:
        """The form again with its problems, or the card as it stands with the refusal on top,
        for the clicker only."""
        message = for_teams(error.message)
        if turn.verb == Verb.CALENDAR_PROPOSE:
            fields = error.fields if isinstance(error, InvalidInput) else {}
            again = Form(turn.form.inputs, fields, message)
            return calendar_form(self._core.config, today=self._today(), again=again)
        return await self._card(turn, message=message)

    # --- helpers ------------------------------------------------------------------------------

    async def _card(self, turn: Turn, *, message: str, good_news: bool = False) -> Element:
        """The card the click came from as it now stands: the batch's, or the next two weeks'.
        On a batch's card the decision is on the post itself; ``message`` is for a refusal."""
        batch_id = turn.form.number(Data.BATCH_ID)
        if not batch_id:
            return await self._weeks(message=message, good_news=good_news)
        batch = await self._core.content_calendar.batch(batch_id)
        return batch_card(
            batch,
            zone=self._core.config.organisation.zone,
            now=self._core.clock.now(),
            people=self._people(turn),
            message=None if good_news else message,
        )

    async def _weeks(self, *, message: str, good_news: bool) -> Element:
        entries = await next_two_weeks(self._core.store, self._core.clock.now())
        zone = self._core.config.organisation.zone
        return weeks_card(entries, zone=zone, message=message, good_news=good_news)

    async def _for_everyone(self, turn: Turn, said: str) -> Element:
        """The clicked card as it now stands, in its place for everyone (the clicker sees it at
        once)."""
        card = await self._card(turn, message=said, good_news=True)
        if turn.card_id:
            await self._presenter.replace(turn.reference, turn.card_id, card)
        return card

    def _people(self, turn: Turn) -> People:
        return people_in([turn.reference])

    def _today(self) -> date:
        return self._core.clock.now().astimezone(self._core.config.organisation.zone).date()

    @staticmethod
    def _name(turn: Turn) -> str:
        return turn.actor.name or "Someone"
