"""Where an incident lives in each chat: its root message, each post's message, a Teams
conversation reference. Kept in the database, so any replica (or a restarted one) finds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from bot.models import ChatAnchor


@dataclass(frozen=True)
class Anchor:
    platform: str
    channel_id: str
    message_id: str
    thread_id: str | None
    reference: dict[str, Any] = field(default_factory=dict)


def _row(session: Session, incident_id: int, platform: str, purpose: str) -> ChatAnchor | None:
    return session.exec(
        select(ChatAnchor).where(
            ChatAnchor.incident_id == incident_id,
            ChatAnchor.platform == platform,
            ChatAnchor.purpose == purpose,
        )
    ).first()


def save(session: Session, *, incident_id: int, purpose: str, anchor: Anchor) -> None:
    """Record (or move) one anchor; ``purpose`` is "root", "post:12", "outcome:12" …"""
    row = _row(session, incident_id, anchor.platform, purpose) or ChatAnchor(
        incident_id=incident_id,
        platform=anchor.platform,
        purpose=purpose,
        channel_id=anchor.channel_id,
        message_id=anchor.message_id,
    )
    row.channel_id, row.message_id = anchor.channel_id, anchor.message_id
    row.thread_id, row.reference = anchor.thread_id, dict(anchor.reference)
    session.add(row)


def find(session: Session, *, incident_id: int, platform: str, purpose: str) -> Anchor | None:
    row = _row(session, incident_id, platform, purpose)
    if row is None:
        return None
    return Anchor(row.platform, row.channel_id, row.message_id, row.thread_id, dict(row.reference))
