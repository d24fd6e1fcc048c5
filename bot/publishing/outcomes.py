"""What a network's answer makes of a delivery: sent, retrying, failed, unknown, or put back.

Each function changes one claimed delivery in the caller's session (``Store.run``); the
publishing loop decides when. ``renew_lease`` keeps a long send's claim alive.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from bot.ports import Published, PublishError
from bot.storage import audit
from bot.storage.models import Delivery, DeliveryState

if TYPE_CHECKING:
    from bot.publishing.claims import Claimed

# The publishing loop's log: log filters name one logger for all of publishing.
log = logging.getLogger("bot.publishing.loop")


def backoff(attempt: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at 10 minutes."""
    return timedelta(seconds=min(5 * 2 ** max(attempt - 1, 0), 600))


def renew_lease(
    session: Session, *, claimed: Claimed, held_until: datetime, until: datetime
) -> bool:
    """Move the lease of a delivery still being sent to ``until``; False when the lease is no
    longer the one this process holds (it ran out and the row was claimed or settled since)."""
    delivery = session.exec(
        select(Delivery)
        .where(
            col(Delivery.id) == claimed.delivery_id,
            col(Delivery.state) == DeliveryState.SENDING,
            col(Delivery.claimed_until) == held_until,
        )
        .with_for_update()
    ).first()
    if delivery is None:
        return False
    delivery.claimed_until = until
    return True


def put_back(session: Session, *, claimed: Claimed, until: datetime, label: str) -> None:
    """Not sent: another post just met the network's rate limit, so this one waits for it."""
    delivery = _claimed_row(session, claimed)
    delivery.state = DeliveryState.RETRYING
    delivery.attempts = max(delivery.attempts - 1, 0)  # it was never sent
    delivery.next_attempt_at = until
    delivery.claimed_until = None
    delivery.last_error = f"waiting for {label}'s rate limit to reset"


def record_sent(session: Session, *, claimed: Claimed, published: Published, at: datetime) -> None:
    """The network took it: its id and link, and the time it went public."""
    delivery = _claimed_row(session, claimed)
    delivery.state = DeliveryState.SENT
    delivery.external_id = published.external_id
    delivery.url = published.url
    delivery.sent_at = at
    delivery.claimed_until = None
    delivery.last_error = None
    url, external_id = published.url or "", published.external_id
    audit_delivery(session, delivery, "publish", at=at, url=url, external_id=external_id)
    log.info("published delivery %s to %s: %s", delivery.id, delivery.channel, published.url)


def record_failure(
    session: Session,
    *,
    claimed: Claimed,
    error: PublishError,
    idempotent: bool,
    max_attempts: int,
    now: datetime,
) -> None:
    """The network refused or did not answer: *unknown* when it may have posted and a retry
    could post twice, *retrying* when a retry may help, else *failed*."""
    delivery = _claimed_row(session, claimed)
    delivery.claimed_until = None
    delivery.last_error = error.message[:1000]
    if error.maybe_sent and not idempotent:
        # Without an idempotency key a retry could post twice: a person checks first.
        why = (
            f"{error.message}. The post may or may not be up: check the account, then "
            "Retry only if it is not there."
        )
        mark_unknown(session, delivery, why=why, error=error.message[:300], at=now)
        log.warning(
            "delivery %s to %s: outcome unknown: %s", delivery.id, delivery.channel, error.message
        )
        return
    if error.rate_limited and error.retry_at is not None:
        # The network said when its quota comes back: waiting for it is not a failure, so
        # a long queue behind a rate limit is sent in full, however many windows it takes.
        delivery.attempts = max(delivery.attempts - 1, 0)
    if error.transient and delivery.attempts < max_attempts:
        delivery.state = DeliveryState.RETRYING
        # A network's own reset time beats our guess; otherwise back off exponentially.
        delivery.next_attempt_at = error.retry_at or now + backoff(delivery.attempts)
        log.warning(
            "delivery %s to %s will retry at %s: %s",
            delivery.id,
            delivery.channel,
            delivery.next_attempt_at.isoformat(),
            error.message,
        )
        return
    delivery.state = DeliveryState.FAILED
    audit_delivery(session, delivery, "publish_failed", at=now, error=error.message[:300])
    log.warning("delivery %s to %s failed: %s", delivery.id, delivery.channel, error.message)


def mark_unknown(
    session: Session, delivery: Delivery, *, why: str, error: str, at: datetime
) -> None:
    """The network may have posted it and a resend could post twice: a person checks (``why``)."""
    delivery.state = DeliveryState.UNKNOWN
    delivery.claimed_until = None
    delivery.last_error = why
    audit_delivery(session, delivery, "publish_unknown", at=at, error=error)


def audit_delivery(
    session: Session, delivery: Delivery, action: str, *, at: datetime, **detail: str
) -> None:
    """Note what became of ``delivery`` in the audit log, as Crier's own doing."""
    audit.record(
        session,
        actor=audit.SYSTEM_ACTOR,
        action=action,
        incident_id=delivery.incident_id,
        post_id=delivery.post_id,
        at=at,
        detail={"channel": delivery.channel, **detail},
    )


def _claimed_row(session: Session, claimed: Claimed) -> Delivery:
    delivery = session.get(Delivery, claimed.delivery_id)
    assert delivery is not None
    return delivery
