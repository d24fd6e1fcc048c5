"""A job moved by one transaction while a firing of it finishes in another: the move wins,
whichever commits first (a token reminder re-planned by the daily check, as its old firing
found the token renewed, was lost so: moved, but left done)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot.scheduling import jobs
from bot.storage.models import Job
from bot.storage.store import Store

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
KEY = "token_expiry:facebook:14"


def _job(session: Session) -> Job:
    return session.exec(select(Job).where(Job.key == KEY)).one()


def test_a_job_moved_after_its_firing_finished_is_live_again(store: Store) -> None:
    if not store.is_postgres:
        pytest.skip("SQLite has one writer at a time: a write transaction reads what it moves")
    with store.transaction() as session:
        jobs.schedule(session, kind="token_expiry", key=KEY, due_at=NOW, payload={"old": True})
    later = NOW + timedelta(days=20)
    with Session(store.engine) as mover:
        stale = _job(mover)  # the daily check reads the job …
        with store.transaction() as firing:  # … its firing finishes and commits "done" …
            done = _job(firing)
            done.done_at, done.outcome = NOW, "renewed"
        # … and the check moves the job it read (done_at None in its view) to the new date.
        jobs.schedule(mover, kind="token_expiry", key=KEY, due_at=later, found=stale)
        mover.commit()
    with store.transaction() as session:
        job = _job(session)
        assert job.done_at is None and job.outcome is None
        assert job.due_at.replace(tzinfo=UTC) == later and job.payload == {}
