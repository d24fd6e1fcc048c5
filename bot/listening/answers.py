"""Answering what the public said, in the database: a person drafts a public answer to one heard
reply or mention, on its network, threaded to it; an approver who is not its author approves it
(as every public text), which writes its delivery; the publisher sends it once, as a reply to
that post. Editing makes the next revision, to be approved again; rejecting says why. Each
function runs in the caller's transaction; who may decide is checked first by the core
(``AnswerDesk``, through ``Gate``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.config import CrierConfig, Network
from bot.drafting.mentions import mention_notes
from bot.drafting.textrules import TextCheck, measure
from bot.errors import Conflict, InvalidInput, NotFound
from bot.incidents.requests import clean_text
from bot.listening.views import HeardView
from bot.ports import Actor
from bot.storage import audit
from bot.storage.models import Answer, Delivery, DeliveryState, HeardPost, PostState

TEXT_MAX = 3_000  # before each network's own rule, which is checked too
INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class AnswerView:
    """An answer as every chat shows it, with what it answers."""

    id: int
    heard: HeardView
    incident_id: int | None
    network: Network
    text: str
    check: TextCheck  # its length against the network's rule
    notes: tuple[str, ...]  # "will notify @ann on Mastodon"
    state: str  # pending, approved, rejected, superseded
    revision: int
    requested_by: str
    decided_by: str | None
    reject_reason: str | None
    delivery_state: str | None  # once approved: queued, sent, failed …
    url: str | None  # once sent: where it is


def propose(
    session: Session,
    *,
    config: CrierConfig,
    heard_id: int,
    text: str,
    actor: Actor,
    now: datetime,
) -> AnswerView:
    """Draft an answer; it waits for an approver."""
    heard = _heard(session, heard_id)
    network = Network(heard.network)
    if not config.channel_enabled(network):
        raise Conflict(
            f"{network.value} is not enabled under 'channels': Crier cannot answer there."
        )
    answer = Answer(
        heard_id=heard_id,
        incident_id=heard.incident_id,
        network=network.value,
        text=_checked(config, network, text),
        state=PostState.PENDING,
        requested_by=actor.key,
        requested_at=now,
    )
    session.add(answer)
    session.flush()
    _record(session, actor, "answer_draft", answer, now)
    return view(session, config, answer.id or 0)


def edit(
    session: Session, *, config: CrierConfig, answer_id: int, text: str, actor: Actor, now: datetime
) -> AnswerView:
    """A new revision of a waiting answer, by whoever edits it: approved again, by someone
    else."""
    answer = _waiting(session, answer_id)
    answer.text = _checked(config, Network(answer.network), text)
    answer.revision += 1
    answer.requested_by, answer.requested_at = actor.key, now
    _record(session, actor, "answer_edit", answer, now)
    return view(session, config, answer_id)


def decide(
    session: Session,
    *,
    config: CrierConfig,
    answer_id: int,
    approved: bool,
    actor: Actor,
    now: datetime,
    revision: int | None = None,
    reason: str | None = None,
) -> AnswerView:
    """Approve (its delivery is written: the publisher sends it) or reject a waiting answer;
    ``revision``: the one the approver was shown, so an approval of older words is refused."""
    answer = _waiting(session, answer_id)
    if revision is not None and revision != answer.revision:
        raise Conflict("This answer was edited after you saw it: decide on it as it is now.")
    answer.decided_by, answer.decided_at = actor.key, now
    if approved:
        answer.state = PostState.APPROVED
        session.add(
            Delivery(
                answer_id=answer.id,
                incident_id=answer.incident_id,
                channel=answer.network,
                state=DeliveryState.QUEUED,
                next_attempt_at=now,
                idempotency_key=idempotency_key(answer),
                created_at=now,
            )
        )
    else:
        answer.state = PostState.REJECTED
        answer.reject_reason = (reason or "").strip()[:500] or None
    _record(session, actor, "answer_approve" if approved else "answer_reject", answer, now)
    return view(session, config, answer_id)


def view(session: Session, config: CrierConfig, answer_id: int) -> AnswerView:
    answer = session.get(Answer, answer_id) if 0 < answer_id <= INT_MAX else None
    if answer is None:
        raise NotFound(f"There is no answer #{answer_id}.")
    heard = _heard(session, answer.heard_id)
    network = Network(answer.network)
    delivery = session.exec(select(Delivery).where(Delivery.answer_id == answer_id)).first()
    notes, _ = mention_notes(config, network, answer.text)
    return AnswerView(
        id=answer_id,
        heard=HeardView.of(heard),
        incident_id=answer.incident_id,
        network=network,
        text=answer.text,
        check=measure(config, network, answer.text, draft=False),
        notes=tuple(notes),
        state=answer.state,
        revision=answer.revision,
        requested_by=answer.requested_by,
        decided_by=answer.decided_by,
        reject_reason=answer.reject_reason,
        delivery_state=delivery.state if delivery is not None else None,
        url=delivery.url if delivery is not None else None,
    )


def answers_to(session: Session, heard_id: int) -> list[int]:
    """The answers drafted to one heard post, oldest first."""
    return [
        i
        for i in session.exec(
            select(Answer.id).where(Answer.heard_id == heard_id).order_by(col(Answer.id))
        ).all()
        if i is not None
    ]


def idempotency_key(answer: Answer) -> str:
    return hashlib.sha256(f"crier:answer:{answer.id}:{answer.network}".encode()).hexdigest()[:40]


def _checked(config: CrierConfig, network: Network, text: str) -> str:
    """The answer as it goes out: a person's own words, never shortened, so a text that breaks
    the network's rule (or a blocked mention) is refused now, saying why."""
    cleaned = clean_text(text, field_name="answer", limit=TEXT_MAX, required=True).strip()
    check = measure(config, network, cleaned, draft=False)
    _, blocked = mention_notes(config, network, cleaned)
    if problem := check.problem or blocked:
        raise InvalidInput(f"The answer cannot go out on {network.value} as written: {problem}.")
    return cleaned


def heard_view(session: Session, heard_id: int) -> HeardView:
    return HeardView.of(_heard(session, heard_id))


def _heard(session: Session, heard_id: int) -> HeardPost:
    # An id past the database's integers names nothing (PostgreSQL would refuse the query).
    heard = session.get(HeardPost, heard_id) if 0 < heard_id <= INT_MAX else None
    if heard is None:
        raise NotFound(f"Crier heard nothing numbered #{heard_id}.")
    return heard


def _waiting(session: Session, answer_id: int) -> Answer:
    answer = session.get(Answer, answer_id)
    if answer is None:
        raise NotFound(f"There is no answer #{answer_id}.")
    if answer.state != PostState.PENDING:
        raise Conflict(f"This answer was {answer.state} already.")
    return answer


def _record(session: Session, actor: Actor, action: str, answer: Answer, now: datetime) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        incident_id=answer.incident_id,
        at=now,
        detail={"answer_id": answer.id, "heard_id": answer.heard_id, "revision": answer.revision},
    )
