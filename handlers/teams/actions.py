"""What the cards' buttons do: each ``Action.Execute`` verb calls one use case and answers
with the card the person should see now (the invoke response).

When a decision changes a card for everyone, the core's follow-up (``show_post``) replaces it
in the conversation; the invoke response shows the clicker the same card at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

from bot.core import Core
from bot.errors import OOPS, Conflict, CrierError, InvalidInput
from bot.incidents.forms import declare_request, edit_request, resolve_request, update_request
from bot.incidents.labels import CLOSED_QUIETLY
from bot.incidents.requests import EditRequest
from bot.ports import Actor
from bot.storage.models import PostState
from bot.views import IncidentView, PostView
from handlers.teams import cards, forms
from handlers.teams.anchors import People
from handlers.teams.answer_actions import ANSWER_VERBS, AnswerActions
from handlers.teams.calendar import calendar_card
from handlers.teams.calendar_actions import CALENDAR_CARD_VERBS, CalendarActions
from handlers.teams.elements import Element
from handlers.teams.ids import IN_ROOT, Data, Field, Verb
from handlers.teams.maintenance_actions import MAINTENANCE_VERBS, MaintenanceActions
from handlers.teams.presenter import TeamsPresenter, card_message
from handlers.teams.turns import Turn, for_teams

log = logging.getLogger(__name__)
Handler = Callable[[Turn], Awaitable[Element | str]]
# Answered with a message, not a card: the clicked card stays as it is.
MESSAGE_VERBS = {Verb.CALENDAR_POST, Verb.CALENDAR_SKIP, Verb.DECLARE_FORM}
CALENDAR_DECISIONS = {Verb.CALENDAR_APPROVE, Verb.CALENDAR_REJECT}
INCIDENT_VERBS = {
    Verb.UPDATE_FORM,
    Verb.UPDATE,
    Verb.RESOLVE_FORM,
    Verb.RESOLVE,
    Verb.SHOW_INCIDENT,
}


class CardActions:
    def __init__(self, *, core: Core, presenter: TeamsPresenter) -> None:
        self._core = core
        self._presenter = presenter
        self._maintenance = MaintenanceActions(core=core, presenter=presenter)
        self._calendar = CalendarActions(core=core, presenter=presenter)
        self._answers = AnswerActions(core=core, presenter=presenter)
        self._verbs: dict[str, Handler] = {
            Verb.DECLARE: self.declare,
            Verb.DECLARE_FORM: self.declare_form,
            Verb.UPDATE_FORM: partial(
                self._incident_form, partial(forms.update_form, config=core.config)
            ),
            Verb.UPDATE: self.update,
            Verb.RESOLVE_FORM: partial(self._incident_form, forms.resolve_form),
            Verb.RESOLVE: self.resolve,
            Verb.SHOW_INCIDENT: self.show_incident,
            Verb.APPROVE: self.approve,
            Verb.EDIT_FORM: self.edit_form,
            Verb.EDIT: partial(self._new_revision, core.edit),
            Verb.REJECT_FORM: self.reject_form,
            Verb.REJECT: self.reject,
            Verb.REVISE_FORM: self.revise_form,
            Verb.REVISE: partial(self._new_revision, core.revise),
            Verb.SHOW_DRAFT: self.show_draft,
            Verb.RETRY: partial(self._delivery, core.retry_delivery),
            Verb.CONFIRM: partial(self._delivery, core.confirm_delivery),
            Verb.SNOOZE: self.snooze,
            Verb.CALENDAR_POST: partial(self._resume, publish=True),
            Verb.CALENDAR_SKIP: partial(self._resume, publish=False),
            Verb.CALENDAR_APPROVE: partial(self._decide_calendar, approve=True),
            Verb.CALENDAR_REJECT: partial(self._decide_calendar, approve=False),
            **self._maintenance.verbs(),
            **self._calendar.verbs(),
            **self._answers.verbs(),
        }

    async def run(self, turn: Turn) -> Element | str:
        """The card to answer with (or a message); a refusal comes back on the card it concerns."""
        handler = self._verbs.get(turn.verb)
        if handler is None:
            return cards.message_card("This button belongs to an older version of Crier.")
        try:
            return await handler(turn)
        except CrierError as exc:
            log.info("refused %s: %s", turn.verb, exc.message)
            error = exc
        except Exception:
            log.exception("Teams action %s failed", turn.verb)
            error = CrierError(OOPS)
        if turn.verb in MESSAGE_VERBS:
            return for_teams(error.message)
        try:
            return await self._refused(turn, error)
        except Exception:  # the card it concerns is gone too: the message alone, then
            return cards.message_card(for_teams(error.message))

    async def _refused(self, turn: Turn, error: CrierError) -> Element:
        message, form = for_teams(error.message), turn.form
        fields = error.fields if isinstance(error, InvalidInput) else {}
        again = forms.Form(form.inputs, fields, message)
        post_id = form.number(Data.POST_ID)
        if turn.verb in MAINTENANCE_VERBS:
            return await self._maintenance.refused(turn, error)
        if turn.verb in CALENDAR_CARD_VERBS:
            return await self._calendar.refused(turn, error)
        if turn.verb in ANSWER_VERBS:
            return await self._answers.refused(turn, error)
        if turn.verb in CALENDAR_DECISIONS:  # the post as it stands, the refusal above it
            entry = await self._core.content_calendar.entry(form.number(Data.SCHEDULED_POST_ID))
            return calendar_card(entry, zone=self._core.config.organisation.zone, message=message)
        if turn.verb == Verb.DECLARE:
            return forms.declare_form(
                self._core.config, summary_hint=self._core.summary_room.hint, again=again
            )
        if turn.verb in INCIDENT_VERBS:
            incident = await self._core.incident(form.number(Data.INCIDENT_ID))
            if turn.verb == Verb.UPDATE and incident.is_open:
                config = self._core.config
                return forms.update_form(incident, config=config, place=turn.place, again=again)
            if turn.verb == Verb.RESOLVE and incident.is_open:
                return forms.resolve_form(incident, place=turn.place, again=again)
            if turn.place == IN_ROOT:
                return await self._presenter.incident_card(incident, message)
            return cards.message_card(message)
        if not post_id:
            return cards.message_card(message)
        post = await self._core.post(post_id)
        if isinstance(error, InvalidInput) and post.state == PostState.PENDING:
            if turn.verb == Verb.EDIT:
                return forms.edit_form(post, again=again)
            if turn.verb == Verb.REJECT:
                return forms.reject_form(post, again=again)
        if isinstance(error, InvalidInput) and post.revisable and turn.verb == Verb.REVISE:
            return forms.edit_form(post, again=again, revise=True)
        return await self._presenter.draft_card(post, message)

    async def _remember(self, turn: Turn, incident_id: int) -> None:
        await self._presenter.anchors.remember(incident_id, turn.actor, teams_id=turn.teams_id)

    async def _form_done(self, turn: Turn, incident: IncidentView, note: str) -> Element:
        """After a form: the incident's card if the form stood in for it, else the form is
        replaced for everyone by a line saying what became of it."""
        if turn.place == IN_ROOT:
            return await self._presenter.incident_card(incident)
        return await self._for_everyone(turn, cards.done_card(note))

    async def _for_everyone(self, turn: Turn, card: Element) -> Element:
        """``card`` in place of the clicked one, for everyone (the clicker sees it at once)."""
        if turn.card_id:
            await self._presenter.replace(turn.reference, turn.card_id, card)
        return card

    # --- declaring and drafting -------------------------------------------------------------

    async def declare(self, turn: Turn) -> Element:
        request = declare_request(turn.form, self._core.config)
        self._core.pace.note(turn.actor)
        draft = await self._core.declare(turn.actor, request)
        await self._remember(turn, draft.incident.id)
        try:  # the used form becomes the incident's card, for everyone
            await self._presenter.start_incident(
                draft.incident, reference=turn.reference, replace_id=turn.card_id
            )
        except CrierError as refused:  # not the declare form again: the incident is saved
            return cards.message_card(refused.message)
        await self._core.show_post(draft.post.id)
        return await self._presenter.incident_card(draft.incident)

    async def declare_form(self, turn: Turn) -> str:
        """*Declare outage* on a surge of mentions: the declare form, its service chosen, as a
        new message (as "outage" brings it), so the surge's card stays for everyone. The
        outage is declared only when someone submits the form."""
        service = turn.form.text(Data.SERVICE).strip() or None
        core = self._core
        form = forms.declare_form(core.config, summary_hint=core.summary_room.hint, service=service)
        await self._presenter.send(turn.reference, card_message(form))
        return "The form to declare the outage is below."

    async def _incident_form(self, build: Callable[..., Element], turn: Turn) -> Element:
        """*Post update* / *Resolve*: the incident's form, if it is still open."""
        incident = await self._core.open_incident(turn.form.number(Data.INCIDENT_ID))
        return build(incident, place=turn.place)

    async def update(self, turn: Turn) -> Element:
        incident_id = turn.form.number(Data.INCIDENT_ID)
        await self._remember(turn, incident_id)
        draft = await self._core.draft_update(
            turn.actor, incident_id, update_request(turn.form, self._core.config)
        )
        note = f"{turn.actor.name or 'Someone'} drafted an update for incident #{incident_id}; "
        return await self._form_done(turn, draft.incident, note + "it waits for approval below.")

    async def resolve(self, turn: Turn) -> Element:
        incident_id = turn.form.number(Data.INCIDENT_ID)
        await self._remember(turn, incident_id)
        outcome = await self._core.draft_resolution(
            turn.actor, incident_id, resolve_request(turn.form)
        )
        if isinstance(outcome, IncidentView):
            closed = CLOSED_QUIETLY.format(id=outcome.id)
            if turn.place == IN_ROOT:
                return await self._presenter.incident_card(outcome, closed)
            return await self._form_done(turn, outcome, closed)
        note = f"{turn.actor.name or 'Someone'} drafted the all-clear for incident #{incident_id}; "
        return await self._form_done(turn, outcome.incident, note + "it waits for approval below.")

    async def show_incident(self, turn: Turn) -> Element:
        incident = await self._core.incident(turn.form.number(Data.INCIDENT_ID))
        return await self._presenter.incident_card(incident)

    # --- deciding -----------------------------------------------------------------------------

    async def _post_of(self, turn: Turn) -> int:
        post_id = turn.form.number(Data.POST_ID)
        post = await self._core.post(post_id)
        await self._remember(turn, post.incident_id)
        return post_id

    async def approve(self, turn: Turn) -> Element:
        view = await self._core.approve(turn.actor, await self._post_of(turn))
        return await self._presenter.draft_card(view)

    async def edit_form(self, turn: Turn) -> Element:
        post = await self._core.post(turn.form.number(Data.POST_ID))
        if post.state != PostState.PENDING:
            raise Conflict(f"This draft is {post.state}; only a waiting draft can be edited.")
        return forms.edit_form(post)

    async def _new_revision(
        self, save: Callable[[Actor, int, EditRequest], Awaitable[object]], turn: Turn
    ) -> Element:
        """*Save revision* on the edit form, of a waiting draft or a rejected one (*Revise*)."""
        post_id = await self._post_of(turn)
        await save(turn.actor, post_id, edit_request(turn.form))
        return await self._presenter.draft_card(await self._core.post(post_id))

    async def revise_form(self, turn: Turn) -> Element:
        """*Revise* on a rejected draft: the edit form, filled with the rejected texts."""
        return forms.edit_form(
            await self._core.revisable(turn.form.number(Data.POST_ID)), revise=True
        )

    async def reject_form(self, turn: Turn) -> Element:
        post_id = turn.form.number(Data.POST_ID)
        await self._core.ensure_approver(turn.actor, post_id, action="reject")
        return forms.reject_form(await self._core.post(post_id))

    async def reject(self, turn: Turn) -> Element:
        post_id = await self._post_of(turn)
        view = await self._core.reject(turn.actor, post_id, turn.form.text(Field.REASON))
        return await self._presenter.draft_card(view)

    async def show_draft(self, turn: Turn) -> Element:
        return await self._presenter.draft_card(
            await self._core.post(turn.form.number(Data.POST_ID))
        )

    async def _delivery(
        self, decide: Callable[[Actor, int], Awaitable[PostView]], turn: Turn
    ) -> Element:
        """*Retry*, or *It's up on X* (someone checked the account: the post in doubt is there)."""
        await self._post_of(turn)
        view = await decide(turn.actor, turn.form.number(Data.DELIVERY_ID))
        return await self._presenter.draft_card(view)

    async def snooze(self, turn: Turn) -> Element:
        wait = await self._core.snooze(turn.actor, turn.form.text(Data.SNOOZE))
        said = f"⏰ Snoozed by {turn.actor.name or 'someone'}: back in {wait} minutes."
        return await self._for_everyone(turn, cards.done_card(said))

    async def _resume(self, turn: Turn, *, publish: bool) -> str:
        """A post the crisis pause held: publish it now, or skip it. The card keeps the other
        held posts' buttons, so the answer is a message and the conversation hears of it."""
        entry_id = turn.form.number(Data.SCHEDULED_POST_ID)
        entry = await self._core.content_calendar.resume(turn.actor, entry_id, publish=publish)
        outcome = "is being published" if publish else "was skipped"
        said = f"Scheduled post #{entry.id} {outcome} ({turn.actor.name or 'someone'} decided)."
        await self._presenter.send(turn.reference, card_message(cards.done_card(said)))
        return said

    async def _decide_calendar(self, turn: Turn, *, approve: bool) -> Element:
        """*Approve* / *Reject* on a proposed calendar post: the card shows the decision, for
        everyone. Who may decide is the core's to say."""
        entry_id, calendar = turn.form.number(Data.SCHEDULED_POST_ID), self._core.content_calendar
        decide = calendar.approve if approve else calendar.reject
        entry = await decide(turn.actor, entry_id)
        people = People({turn.actor.user_id: {"name": turn.actor.name or ""}})
        zone = self._core.config.organisation.zone
        return await self._for_everyone(turn, calendar_card(entry, zone=zone, people=people))
