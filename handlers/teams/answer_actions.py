"""What the answering buttons do in Teams: *Reply* on a reply Crier heard brings the form that
drafts a public answer (for the clicker); the answer's card carries *Approve*, *Edit* (the form,
filled in) and *Reject* (a form asking why).

Each calls the core (``core.answers``, which says who may and whether the words may go out)
and answers the clicker with the card as it is now; the core's work queue replaces the answer's
card for everyone after each change. A refusal comes back to the clicker: the form again with
the problem, or the answer's card as it stands with the refusal on top.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.chat.answering import not_waiting
from bot.core import Core
from bot.errors import Conflict, CrierError, InvalidInput
from bot.listening.answers import AnswerView
from bot.storage.models import PostState
from handlers.teams import cards
from handlers.teams.anchors import People
from handlers.teams.answer_card import answer_card, answer_form, heard_alone_card, reject_form
from handlers.teams.elements import Element
from handlers.teams.forms import Form
from handlers.teams.ids import ANSWER_TEXT, Data, Field, Verb
from handlers.teams.presenter import TeamsPresenter
from handlers.teams.turns import Turn, for_teams

Handler = Callable[[Turn], Awaitable[Element | str]]
HEARD_VERBS = {Verb.HEARD_REPLY_FORM, Verb.HEARD_SHOW}
ANSWER_VERBS = {
    *HEARD_VERBS,
    Verb.ANSWER_PROPOSE,
    Verb.ANSWER_APPROVE,
    Verb.ANSWER_EDIT_FORM,
    Verb.ANSWER_EDIT,
    Verb.ANSWER_REJECT_FORM,
    Verb.ANSWER_REJECT,
    Verb.ANSWER_SHOW,
}
SAVED = "Your answer waits for an approver who did not write it: it is shown below."
INT_MAX = 2**31 - 1


def _id(turn: Turn, key: Data) -> int:
    """The id the card carries; 0 (nothing) for one past the database's integers."""
    number = turn.form.number(key)
    return number if number <= INT_MAX else 0


class AnswerActions:
    def __init__(self, *, core: Core, presenter: TeamsPresenter) -> None:
        self._core = core
        self._presenter = presenter

    def verbs(self) -> dict[str, Handler]:
        return {
            Verb.HEARD_REPLY_FORM: self.reply_form,
            Verb.HEARD_SHOW: self.show_heard,
            Verb.ANSWER_PROPOSE: self.propose,
            Verb.ANSWER_APPROVE: self.approve,
            Verb.ANSWER_EDIT_FORM: self.edit_form,
            Verb.ANSWER_EDIT: self.edit,
            Verb.ANSWER_REJECT_FORM: self.reject_form,
            Verb.ANSWER_REJECT: self.reject,
            Verb.ANSWER_SHOW: self.show_answer,
        }

    async def reply_form(self, turn: Turn) -> Element:
        """*Reply*: the form, in place of the replies' card for the clicker alone."""
        heard = await self._core.answers.heard(_id(turn, Data.HEARD_ID))
        return answer_form(self._core.config, heard)

    async def show_heard(self, turn: Turn) -> Element:
        heard = await self._core.answers.heard(_id(turn, Data.HEARD_ID))
        return heard_alone_card(heard, zone=self._core.config.organisation.zone)

    async def propose(self, turn: Turn) -> Element:
        heard = await self._core.answers.heard(_id(turn, Data.HEARD_ID))
        await self._remember(turn, heard.incident_id)  # before: the answer's card names its author
        await self._core.answers.propose(turn.actor, heard.id, turn.form.text(ANSWER_TEXT))
        zone = self._core.config.organisation.zone
        return heard_alone_card(heard, zone=zone, message=SAVED)

    async def approve(self, turn: Turn) -> Element:
        """*Approve*, of the revision the card showed: words edited since are refused."""
        answer = await self._seen(turn)
        revision = turn.form.number(Data.REVISION) or None
        decided = await self._core.answers.approve(turn.actor, answer.id, revision=revision)
        return await self._card(decided)

    async def edit_form(self, turn: Turn) -> Element:
        answer = await self._waiting(turn)
        return answer_form(self._core.config, answer.heard, editing=answer)

    async def edit(self, turn: Turn) -> Element:
        answer = await self._seen(turn)
        text = turn.form.text(ANSWER_TEXT)
        return await self._card(await self._core.answers.edit(turn.actor, answer.id, text))

    async def reject_form(self, turn: Turn) -> Element:
        answer = await self._waiting(turn)
        await self._core.answers.ensure_may_reject(turn.actor, answer.id)
        return reject_form(answer)

    async def reject(self, turn: Turn) -> Element:
        answer = await self._seen(turn)
        reason = turn.form.text(Field.REASON) or None
        return await self._card(await self._core.answers.reject(turn.actor, answer.id, reason))

    async def show_answer(self, turn: Turn) -> Element:
        return await self._card(await self._core.answers.view(_id(turn, Data.ANSWER_ID)))

    async def refused(self, turn: Turn, error: CrierError) -> Element:
        """The form again with the problem, or the answer's card with the refusal on top."""
        message = for_teams(error.message)
        if turn.verb in HEARD_VERBS:
            return cards.message_card(message)
        fields = error.fields if isinstance(error, InvalidInput) else {}
        again = Form(turn.form.inputs, fields, message)
        config = self._core.config
        if turn.verb == Verb.ANSWER_PROPOSE:
            heard = await self._core.answers.heard(_id(turn, Data.HEARD_ID))
            return answer_form(config, heard, again=again)
        answer = await self._core.answers.view(_id(turn, Data.ANSWER_ID))
        if isinstance(error, InvalidInput) and answer.state == PostState.PENDING:
            if turn.verb == Verb.ANSWER_EDIT:
                return answer_form(config, answer.heard, again=again, editing=answer)
            if turn.verb == Verb.ANSWER_REJECT:
                return reject_form(answer, again=again)
        return await self._card(answer, message)

    # --- helpers ------------------------------------------------------------------------------

    async def _seen(self, turn: Turn) -> AnswerView:
        """The answer clicked, its clicker remembered (its card names who decided)."""
        answer = await self._core.answers.view(_id(turn, Data.ANSWER_ID))
        await self._remember(turn, answer.incident_id)
        return answer

    async def _waiting(self, turn: Turn) -> AnswerView:
        answer = await self._core.answers.view(_id(turn, Data.ANSWER_ID))
        if answer.state != PostState.PENDING:
            raise Conflict(not_waiting(answer))
        return answer

    async def _remember(self, turn: Turn, incident_id: int | None) -> None:
        if incident_id is not None:
            anchors = self._presenter.anchors
            await anchors.remember(incident_id, turn.actor, teams_id=turn.teams_id)

    async def _card(self, answer: AnswerView, message: str | None = None) -> Element:
        people = People()
        if answer.incident_id is not None:
            people = await self._presenter.anchors.people(answer.incident_id)
        zone = self._core.config.organisation.zone
        return answer_card(answer, zone=zone, people=people, message=message)
