"""The core's face for answering what was heard (``bot.listening.answers``), and its job.

Anyone in the incident's conversation may draft an answer to a reply; only an approver who did
not write it approves it (``Gate``), as for every public text, and an approver may reject it.
Each change is shown in chat by a row of the work queue written in the same transaction
(``answer_show``, run by ``core.work`` like a post's refresh), so no change is left unshown;
the publisher sends an approved answer once, and its outcome is shown the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.config import CrierConfig
from bot.incidents.approvers import Gate
from bot.listening import answers
from bot.listening.answers import AnswerView
from bot.listening.views import HeardView
from bot.ports import Actor, Clock
from bot.scheduling.jobs import JobHandler, JobRun
from bot.scheduling.work import refresh_later
from bot.storage.store import Store

SHOW = "answer_show"
NOT_AN_APPROVER = "Only approvers can approve a public answer. Ask one of the approvers."
NOT_A_REJECTER = "Only approvers can reject a public answer."
OWN_ANSWER = "You wrote this answer, so another approver needs to approve it."


@dataclass
class AnswerDesk:
    store: Store
    config: CrierConfig
    clock: Clock
    gate: Gate
    wake_scheduler: Callable[[], None]
    wake_publisher: Callable[[], None]
    # Every chat shows it (``ChatShows.answer``).
    show: Callable[[AnswerView], Awaitable[None]]

    async def propose(self, actor: Actor, heard_id: int, text: str) -> AnswerView:
        """Draft an answer to something heard; the approvers are shown it."""
        now = self.clock.now()

        def propose(session: Session) -> AnswerView:
            drafted = answers.propose(
                session, config=self.config, heard_id=heard_id, text=text, actor=actor, now=now
            )
            show_later(session, drafted.id, now=now)
            return drafted

        drafted = await self.store.run(propose)
        self.wake_scheduler()
        return drafted

    async def edit(self, actor: Actor, answer_id: int, text: str) -> AnswerView:
        """Change a waiting answer's words: it waits for an approver again (not its editor)."""
        now = self.clock.now()

        def edit(session: Session) -> AnswerView:
            edited = answers.edit(
                session, config=self.config, answer_id=answer_id, text=text, actor=actor, now=now
            )
            show_later(session, answer_id, now=now)
            return edited

        edited = await self.store.run(edit)
        self.wake_scheduler()
        return edited

    async def view(self, answer_id: int) -> AnswerView:
        return await self.store.read(lambda s: answers.view(s, self.config, answer_id))

    async def approve(
        self, actor: Actor, answer_id: int, *, revision: int | None = None
    ) -> AnswerView:
        """Approve it (not its author): it goes out on its network, threaded to what it answers."""
        waiting = await self.view(answer_id)
        await self.gate.check(
            actor,
            action="answer_approve",
            refusal=NOT_AN_APPROVER,
            author=waiting.requested_by,
            own=OWN_ANSWER,
            incident_id=waiting.incident_id,
            detail={"answer_id": answer_id},
        )
        decided = await self._decide(actor, answer_id, approved=True, revision=revision)
        self.wake_publisher()
        return decided

    async def ensure_may_reject(self, actor: Actor, answer_id: int) -> AnswerView:
        """The answer, if ``actor`` may reject it (NotFound first, then NotAllowed, audited):
        the chats ask before opening the form for a reason, so nobody writes one for nothing."""
        waiting = await self.view(answer_id)
        await self.gate.check(
            actor,
            action="answer_reject",
            refusal=NOT_A_REJECTER,
            incident_id=waiting.incident_id,
            detail={"answer_id": answer_id},
        )
        return waiting

    async def reject(self, actor: Actor, answer_id: int, reason: str | None = None) -> AnswerView:
        await self.ensure_may_reject(actor, answer_id)
        return await self._decide(actor, answer_id, approved=False, reason=reason)

    async def heard(self, heard_id: int) -> HeardView:
        """What an answer would answer, for its form (NotFound when Crier heard no such post)."""
        return await self.store.read(lambda s: answers.heard_view(s, heard_id))

    async def _decide(
        self,
        actor: Actor,
        answer_id: int,
        *,
        approved: bool,
        revision: int | None = None,
        reason: str | None = None,
    ) -> AnswerView:
        now = self.clock.now()

        def decide(session: Session) -> AnswerView:
            decided = answers.decide(
                session,
                config=self.config,
                answer_id=answer_id,
                approved=approved,
                actor=actor,
                now=now,
                revision=revision,
                reason=reason,
            )
            show_later(session, answer_id, now=now)
            return decided

        decided = await self.store.run(decide)
        self.wake_scheduler()
        return decided

    def handlers(self) -> dict[str, JobHandler]:
        return {SHOW: self._show}

    async def _show(self, run: JobRun) -> str:
        await self.show(await self.view(int(run.payload.get("answer_id", 0))))
        return "shown"


def show_later(session: Session, answer_id: int, *, now: datetime) -> None:
    """In the transaction that changed the answer (or its delivery): show it in chat once that
    has committed; changes close together share one refresh (``refresh_later``)."""
    key = f"{SHOW}:{answer_id}"
    refresh_later(session, kind=SHOW, key=key, payload={"answer_id": answer_id}, now=now)
