"""Rows of what was published to the status site, written straight into a test's database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session, func, select

from bot.site import SITE_CHANNEL
from bot.storage.models import Delivery, DeliveryState, Incident, Post, PostState
from bot.storage.store import Store


def publish_to_site(store: Store, **post: Any) -> int:
    """``add_site_post`` in a transaction of its own; returns the incident's id."""
    with store.transaction() as session:
        return add_site_post(session, **post)


def add_site_post(
    session: Session,
    *,
    at: datetime,
    text: str,
    service: str = "Blackboard",
    severity: str = "sev1",
    status: str = "investigating",
    incident_id: int | None = None,
) -> int:
    """A post of the incident ``incident_id`` (a new one if None) approved and sent to the site
    at ``at``: what the outbox leaves behind. Returns the incident's id."""
    if incident_id is None:
        incident = Incident(
            service=service,
            summary=text[:200],
            severity=severity,
            status=status,
            declared_by="slack:U0ANALYST1",
            declared_at=at,
            updated_at=at,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        incident_id = incident.id
    else:
        incident = session.get_one(Incident, incident_id)
        incident.status, incident.updated_at = status, at
    earlier = select(func.count()).select_from(Post).where(Post.incident_id == incident_id)
    number = session.exec(earlier).one()
    post = Post(
        incident_id=incident_id,
        number=number + 1,
        kind="initial" if number == 0 else ("resolution" if status == "resolved" else "update"),
        state=PostState.APPROVED,
        status=status,
        requested_by="slack:U0ANALYST1",
        requested_at=at,
        decided_by="slack:U0APPROVER1",
        decided_at=at,
    )
    session.add(post)
    session.flush()
    session.add(
        Delivery(
            post_id=post.id,
            incident_id=incident_id,
            channel=SITE_CHANNEL,
            state=DeliveryState.SENT,
            idempotency_key=uuid.uuid4().hex,
            text=text,
            created_at=at,
            sent_at=at,
        )
    )
    return incident_id
