"""Shared fixtures: a migrated database on SQLite always, and on PostgreSQL when
``CRIER_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web_app
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from bot.config import STARTER_CONFIG, CrierConfig
from bot.storage.schema import upgrade
from bot.storage.store import Store, normalise_database_url, open_store

PG_URL = os.environ.get("CRIER_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])

ANALYST = "U0ANALYST1"
APPROVER = "U0APPROVER1"
APPROVER_2 = "U0APPROVER2"
OUTSIDER = "U0OUTSIDER"
COMMS = "C0COMMS"


@pytest.fixture(autouse=True)
def _forget_aiohttp_middleware_chains() -> Iterator[None]:
    """aiohttp keeps the middleware chains of the last 1,024 (handler, apps) pairs it served
    (``web_app._cached_build_middleware``). Harmless with one app per process, as Crier runs;
    but every test builds its own app, and each chain kept holds that test's whole Crier (its
    engine, caches and bolt app) alive. By a thousand tests the heap held millions of objects,
    a full garbage collection took seconds, and forms missed Slack's 3-second ack."""
    yield
    chains = getattr(web_app, "_cached_build_middleware", None)
    if chains is not None:
        chains.cache_clear()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """One throw-away PostgreSQL database for the session, migrated once."""
    if not PG_URL:
        yield None
        return
    admin_url = normalise_database_url(PG_URL)
    name = f"crier_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    store = open_store(url)
    upgrade(store)
    store.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": name},
        )
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_database: str | None
) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crier.db'}"
    assert postgres_database is not None
    engine = create_engine(postgres_database)
    with engine.begin() as connection:
        tables = [
            row[0]
            for row in connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        if tables:
            connection.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
    engine.dispose()
    return postgres_database


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = open_store(database_url)
    upgrade(store)
    yield store
    store.dispose()


@pytest.fixture
def statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements the store runs from now on."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    # A read engine made with execution_options shares the write engine's pool and hears its
    # events: listening on both would record each of its statements twice.
    engines = {engine.pool: engine for engine in (store.read_engine, store.engine)}.values()
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    yield seen
    for engine in engines:
        event.remove(engine, "before_cursor_execute", record)


def make_config(**overrides: object) -> CrierConfig:
    """The starter crier.yml with the test workspace's comms channel and approvers."""
    raw = yaml.safe_load(STARTER_CONFIG.read_text())
    raw["slack"] = {"comms_channel": COMMS}
    raw["approvals"] = {"slack_users": [APPROVER, APPROVER_2], "allow_self_approval": False}
    for key, value in overrides.items():
        raw[key] = value
    return CrierConfig.model_validate(raw)


@pytest.fixture
def config() -> CrierConfig:
    return make_config()
