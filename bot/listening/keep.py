"""Keeping what was heard: each reply or mention once per network and id, with the incident and
post it answers, the service it names, and its mood.

Two pollers (two replicas, or a poll repeated after a kill) may read the same reply: the insert
skips a row the unique key already holds (``ON CONFLICT DO NOTHING``), and only the rows this
call added come back, so each reaches the chat once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.listening.heard import Heard, HeardKind
from bot.listening.mood import score
from bot.listening.watch import Terms, WatchedPost
from bot.storage.models import HeardPost


@dataclass(frozen=True)
class Found:
    """One item a source gave, and the watched post it was read under (for a reply)."""

    heard: Heard
    under: WatchedPost | None = None
    searched: bool = False  # a search result, not the network's own notification


def keep(
    session: Session,
    found: Iterable[Found],
    *,
    terms: Terms,
    watched: Mapping[str, WatchedPost],
    now: datetime,
) -> list[HeardPost]:
    """Add what is new (``watched``: the watched posts by their external id, for a reply that
    came as a notification); the rows added, oldest first. A search result that names no
    watched term (a network's search may match loosely) is left out."""
    values: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for item in found:
        heard = item.heard
        key = (heard.network.value, heard.external_id)
        if key in seen:
            continue
        seen.add(key)
        under = item.under or watched.get(heard.in_reply_to or "")
        service = under.service if under is not None else terms.service_in(heard.text)
        if item.searched and under is None and not terms.names_us(heard.text):
            continue
        values.append(
            {
                "network": heard.network.value,
                "external_id": heard.external_id,
                "kind": HeardKind.REPLY if under is not None else heard.kind,
                "author": heard.author[:300],
                "author_name": heard.author_name[:300],
                "text": heard.text,
                "url": heard.url,
                "created_at": heard.created_at,
                "heard_at": now,
                "in_reply_to": heard.in_reply_to,
                "reply_ref": dict(heard.reply_ref),
                "delivery_id": under.post.delivery_id if under is not None else None,
                "incident_id": under.incident_id if under is not None else None,
                "service": service,
                "mood": score(heard.text).compound,
                "shown_at": None,
            }
        )
    if not values:
        return []
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    added = session.execute(
        dialect.insert(HeardPost)
        .values(values)
        .on_conflict_do_nothing(index_elements=["network", "external_id"])
        .returning(col(HeardPost.id))
    ).scalars()
    ids = list(added)
    if not ids:
        return []
    rows = session.exec(select(HeardPost).where(col(HeardPost.id).in_(ids))).all()
    return sorted(rows, key=lambda row: (row.created_at, row.id or 0))
