"""Processes started together on an empty database all come up (issue 16): one creates the
schema, the others wait for it and find it current."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.storage.schema import SchemaOutOfDate, current_revision, ensure_current, head_revision
from bot.storage.store import normalise_database_url, open_store
from tests.conftest import BACKENDS, PG_URL

REPOSITORY = Path(__file__).resolve().parents[2]
STARTERS = 3  # two `crier serve` and a `crier worker`, as in the issue


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database (the
    session's shared one is already migrated), dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crier.db'}"
        return
    assert PG_URL is not None
    server = make_url(normalise_database_url(PG_URL))
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"crier_race_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Started:
    exit_code: int
    said: str
    errors: str


def start_together(url: str, count: int) -> list[Started]:
    """Run ``count`` starters (tests/schema_starter.py) on ``url`` and release them at one
    moment into ``open_store`` and ``ensure_current``: each waits on stdin once it is ready."""
    starters = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.schema_starter", url],
            cwd=REPOSITORY,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        # Every process is started (imports done) before any opens the database: then all are
        # let go at once, to open a new file (SQLite's switch to WAL) and create the schema.
        for starter in starters:
            assert starter.stdout is not None
            assert starter.stdout.readline() == "ready\n", starter.communicate()[1]
        for starter in starters:
            assert starter.stdin is not None
            starter.stdin.write("go\n")
            starter.stdin.flush()
        results = []
        for starter in starters:
            out, err = starter.communicate(timeout=120)
            results.append(Started(starter.returncode, out.strip(), err))
        return results
    finally:
        for starter in starters:
            if starter.poll() is None:
                starter.kill()
                starter.wait()


def test_processes_started_together_on_an_empty_database_all_come_up(
    empty_database_url: str,
) -> None:
    started = start_together(empty_database_url, STARTERS)

    store = open_store(empty_database_url)
    try:
        head = head_revision()
        assert [s.exit_code for s in started] == [0] * STARTERS, "\n".join(
            s.errors for s in started
        )
        said = sorted(s.said for s in started)
        assert said == [
            f"created a new database schema ({head})",
            *[f"database schema is current ({head})"] * (STARTERS - 1),
        ]
        assert current_revision(store) == head
    finally:
        store.dispose()


def test_a_database_with_other_tables_is_still_refused(empty_database_url: str) -> None:
    store = open_store(empty_database_url)
    try:
        with store.engine.begin() as connection:
            connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
        with pytest.raises(SchemaOutOfDate, match=r"has tables \(invoices…\) but no Crier"):
            ensure_current(store)
        assert current_revision(store) is None
    finally:
        store.dispose()
