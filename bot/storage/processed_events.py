"""Event ids already handled: a chat platform that retries a delivery gets it handled once.

The id is inserted with ``ON CONFLICT DO NOTHING``, so of two replicas receiving the same retry
exactly one inserts the row and handles the event. Any delivery's id will do (Slack's handlers
also record a command's or an interaction's ``trigger_id``, under a prefix of their own).

    if claim(session, event_id="Ev0123ABCD", at=now):
        ...  # the first delivery: handle it
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from bot.storage.models import ProcessedEvent

# Slack retries within minutes; a day keeps the table small and still catches every retry.
KEEP = timedelta(days=1)
KEY_MAX = 100  # the ProcessedEvent column


def claim(session: Session, *, event_id: str, at: datetime) -> bool:
    """Record ``event_id``; False if it was recorded before (a retry of a handled event)."""
    session.execute(delete(ProcessedEvent).where(col(ProcessedEvent.seen_at) < at - KEEP))
    is_postgres = session.get_bind().dialect.name == "postgresql"
    insert = postgresql.insert if is_postgres else sqlite.insert
    statement = (
        insert(ProcessedEvent)
        .values(event_id=event_id, seen_at=at)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(col(ProcessedEvent.event_id))  # a row back only if this insert made it
    )
    return session.execute(statement).first() is not None
