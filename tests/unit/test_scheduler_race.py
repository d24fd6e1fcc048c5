"""Two scheduler processes on one PostgreSQL database run each job exactly once."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.scheduling.jobs import schedule
from bot.storage.models import AuditEvent, Job
from bot.storage.store import Store

JOBS = 400


def test_two_processes_share_the_jobs_and_run_each_once(store: Store, database_url: str) -> None:
    if not store.is_postgres:
        pytest.skip("on SQLite one process runs the jobs; the race is PostgreSQL's")
    due = datetime.now(UTC) - timedelta(seconds=1)
    with store.transaction() as session:
        for number in range(JOBS):
            schedule(session, kind="race", key=f"race:{number}", due_at=due)
    workers = [
        subprocess.Popen([sys.executable, "-m", "tests.race_worker", database_url, name])
        for name in ("replica-a", "replica-b")
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    with store.transaction() as session:
        fired = session.exec(select(AuditEvent).where(AuditEvent.action == "race_fired")).all()
        jobs = session.exec(select(Job).where(Job.kind == "race")).all()
    per_job = Counter(event.detail["job"] for event in fired)
    assert len(per_job) == JOBS and set(per_job.values()) == {1}, "a job ran twice or never"
    assert all(job.done_at is not None and job.outcome == "fired" for job in jobs)
    by_worker = Counter(event.actor for event in fired)
    assert set(by_worker) == {"replica-a", "replica-b"}, f"one replica did everything: {by_worker}"
