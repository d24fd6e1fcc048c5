"""A person's word on one delivery after it was sent: send it again (it failed, or its outcome
is unknown), or confirm it is up (someone checked the account). The core checks first that they
may (``Gate``): both make something public.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.errors import Conflict, NotFound
from bot.incidents.acting import Acting
from bot.storage.models import Delivery, DeliveryState


def delivery_place(session: Session, delivery_id: int) -> tuple[int | None, int | None, str | None]:
    """A delivery's incident, post and channel, for the audit log; Nones if there is none."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return None, None, None
    return delivery.incident_id, delivery.post_id, delivery.channel


def retry_delivery(act: Acting, *, delivery_id: int) -> int:
    """Queue a failed (or unknown) delivery again; returns its post id."""
    delivery = _deciding(
        act.session,
        delivery_id,
        states=(DeliveryState.FAILED, DeliveryState.UNKNOWN),
        only="only failed ones can be retried",
    )
    delivery.state = DeliveryState.QUEUED
    delivery.next_attempt_at = act.now
    delivery.attempts = 0
    delivery.claimed_until = None
    return _decided(act, delivery, action="retry")


def confirm_delivery(act: Acting, *, delivery_id: int) -> int:
    """A person checked the network: the post of an *unknown* delivery is up. Returns its post."""
    delivery = _deciding(
        act.session,
        delivery_id,
        states=(DeliveryState.UNKNOWN,),
        only="only an unknown outcome can be confirmed",
    )
    delivery.state = DeliveryState.SENT
    delivery.sent_at = act.now
    delivery.last_error = None
    return _decided(act, delivery, action="confirm_sent")


def _deciding(
    session: Session, delivery_id: int, *, states: tuple[DeliveryState, ...], only: str
) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.post_id is None:
        raise NotFound(f"Delivery #{delivery_id} does not exist.")
    if delivery.state not in states:
        raise Conflict(f"{delivery.channel} is {delivery.state}; {only}.")
    return delivery


def _decided(act: Acting, delivery: Delivery, *, action: str) -> int:
    act.session.add(delivery)
    detail = {"channel": delivery.channel}
    act.record(action, incident_id=delivery.incident_id, post_id=delivery.post_id, detail=detail)
    return delivery.post_id or 0
