"""The outbox: a dry-run publisher that keeps each post in the database for people to read."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.config import Network
from bot.ports import ChannelCheck, Published, PublishRequest
from bot.publishing.credentials import NEEDED
from bot.storage.models import OutboxPost
from bot.storage.store import Store
from bot.views import NETWORK_LABELS


class OutboxPublisher:
    """Records the post instead of sending it. A repeated idempotency key returns the first post."""

    idempotent = True

    def __init__(self, *, network: Network, store: Store, public_url: str) -> None:
        self.network = network
        self.label = f"{NETWORK_LABELS[network]} (dry run: outbox)"
        self._store = store
        self._public_url = public_url.rstrip("/")

    async def check(self) -> ChannelCheck:
        return ChannelCheck(
            network=self.network,
            state="missing",
            detail=f"a dry run; set {NEEDED[self.network]} to publish to "
            f"{NETWORK_LABELS[self.network]}",
        )

    async def publish(self, request: PublishRequest) -> Published:
        def write(session: Session) -> OutboxPost:
            existing = session.exec(
                select(OutboxPost).where(OutboxPost.idempotency_key == request.idempotency_key)
            ).first()
            if existing is not None:
                return existing
            entry = OutboxPost(
                network=self.network.value,
                text=request.text,
                idempotency_key=request.idempotency_key,
                reply_to=request.reply_to,
                incident_id=request.incident_id,
            )
            session.add(entry)
            session.flush()
            return entry

        try:
            entry = await self._store.run(write)
        except IntegrityError:  # the same key written by another worker a moment ago
            await asyncio.sleep(0)
            entry = await self._store.run(write)
        return Published(
            external_id=f"outbox-{entry.id}", url=f"{self._public_url}/outbox/{entry.id}"
        )


def recent_outbox(
    session: Session, *, limit: int = 20, network: str | None = None
) -> list[OutboxPost]:
    query = select(OutboxPost).order_by(col(OutboxPost.id).desc()).limit(limit)
    if network:
        query = query.where(OutboxPost.network == network)
    return list(session.exec(query).all())
