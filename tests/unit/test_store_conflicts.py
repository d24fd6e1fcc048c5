"""Two transactions that wait for each other (a deadlock on PostgreSQL): the one PostgreSQL
ends is run again, so both do their work and nobody sees an error."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.storage.models import AuditEvent
from bot.storage.store import Store


async def test_a_transaction_ended_by_a_deadlock_is_run_again(store: Store) -> None:
    if not store.is_postgres:
        pytest.skip("SQLite has one writer at a time: its transactions never deadlock")
    with store.transaction() as session:
        first, second = AuditEvent(actor="a", action="x"), AuditEvent(actor="b", action="x")
        session.add_all([first, second])
        session.flush()
        ids = (first.id, second.id)
    both_hold_one = threading.Barrier(2, timeout=10)
    attempts = {"forward": 0, "backward": 0}

    def locking(name: str, order: tuple[int | None, int | None]) -> object:
        def work(session: Session) -> None:
            attempts[name] += 1
            for step, row_id in enumerate(order):
                session.execute(  # the row's lock is taken here
                    update(AuditEvent)
                    .where(col(AuditEvent.id) == row_id)
                    .values(action=func.concat(col(AuditEvent.action), f"+{name}"))
                )
                if step == 0 and attempts[name] == 1:
                    both_hold_one.wait()  # each holds one row and asks for the other's

        return work

    await asyncio.gather(
        store.run(locking("forward", ids)),  # type: ignore[arg-type]
        store.run(locking("backward", ids[::-1])),  # type: ignore[arg-type]
    )
    assert sorted(attempts.values()) == [1, 2]  # one was ended by PostgreSQL, and ran again
    with store.transaction() as session:
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert all("forward" in a and "backward" in a for a in actions), actions
