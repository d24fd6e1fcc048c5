"""Rows the listening tests need in the database: an incident with a post sent to a network."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config import Network
from bot.listening.heard import Watched
from bot.listening.watch import WatchedPost
from bot.storage.models import Delivery, DeliveryState, Incident, Post
from bot.storage.store import Store

SENT_AT = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)


def a_sent_post(
    store: Store, *, network: Network, external_id: str, service: str = "Wi-Fi"
) -> WatchedPost:
    """An open incident of ``service`` whose first post went out on ``network`` as
    ``external_id``."""
    with store.transaction() as session:
        incident = Incident(
            service=service,
            summary="eduroam is down",
            severity="sev2",
            status="investigating",
            declared_by="slack:U1",
            declared_at=SENT_AT,
        )
        session.add(incident)
        session.flush()
        post = Post(
            incident_id=incident.id or 0,
            number=1,
            kind="initial",
            state="approved",
            status="investigating",
            requested_by="slack:U1",
        )
        session.add(post)
        session.flush()
        delivery = Delivery(
            post_id=post.id,
            incident_id=incident.id,
            channel=network.value,
            state=DeliveryState.SENT,
            idempotency_key=f"k-{network.value}-{external_id}",
            external_id=external_id,
            url=f"https://example.social/@crier/{external_id}",
            sent_at=SENT_AT,
        )
        session.add(delivery)
        session.flush()
        watched = Watched(
            delivery_id=delivery.id or 0,
            network=network,
            external_id=external_id,
            url=delivery.url,
            published_at=SENT_AT,
        )
        return WatchedPost(post=watched, incident_id=incident.id or 0, service=service)
