"""A person's word on one delivery after it was sent: send it again (it failed, or its outcome
is unknown), or confirm it is up (someone checked the account). The core checks first that they
may (``Gate``): both make something public.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.errors import Conflict, NotFound
from bot.ports import Actor
from bot.storage import audit
from bot.storage.models import Delivery, DeliveryState


def delivery_place(session: Session, delivery_id: int) -> tuple[int | None, int | None, str | None]:
    """A delivery's incident, post and channel, for the audit log; Nones if there is none."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return None, None, None
    return delivery.incident_id, delivery.post_id, delivery.channel


def retry_delivery(session: Session, *, delivery_id: int, actor: Actor, now: datetime) -> int:
    """Queue a failed (or unknown) delivery again; returns its post id."""
    delivery = _deciding(
        session,
        delivery_id,
        states=(DeliveryState.FAILED, DeliveryState.UNKNOWN),
        only="only failed ones can be retried",
    )
    delivery.state = DeliveryState.QUEUED
    delivery.next_attempt_at = now
    delivery.attempts = 0
    delivery.claimed_until = None
    return _decided(session, delivery, actor=actor, action="retry", now=now)


def confirm_delivery(session: Session, *, delivery_id: int, actor: Actor, now: datetime) -> int:
    """A person checked the network: the post of an *unknown* delivery is up. Returns its post."""
    delivery = _deciding(
        session,
        delivery_id,
        states=(DeliveryState.UNKNOWN,),
        only="only an unknown outcome can be confirmed",
    )
    delivery.state = DeliveryState.SENT
    delivery.sent_at = now
    delivery.last_error = None
    return _decided(session, delivery, actor=actor, action="confirm_sent", now=now)


def _deciding(
    session: Session, delivery_id: int, *, states: tuple[DeliveryState, ...], only: str
) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.post_id is None:
        raise NotFound(f"Delivery #{delivery_id} does not exist.")
    if delivery.state not in states:
        raise Conflict(f"{delivery.channel} is {delivery.state}; {only}.")
    return delivery


def _decided(
    session: Session, delivery: Delivery, *, actor: Actor, action: str, now: datetime
) -> int:
    session.add(delivery)
    audit.record(
        session,
        actor=actor,
        action=action,
        incident_id=delivery.incident_id,
        post_id=delivery.post_id,
        at=now,
        detail={"channel": delivery.channel},
    )
    return delivery.post_id or 0
