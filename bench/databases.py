"""Throw-away databases for a benchmark run: a SQLite file in a temporary folder, or a fresh
PostgreSQL database (created, migrated, then dropped), so no run touches anyone's data.

    with throwaway_database("postgresql") as url:
        store = migrated_store(url)
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.storage.schema import upgrade
from bot.storage.store import Store, normalise_database_url, open_store

BACKENDS = ("sqlite", "postgresql")
# Where throw-away PostgreSQL databases are created (the server's admin connection).
POSTGRES_ADMIN_URL = os.environ.get(
    "CRIER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@contextmanager
def throwaway_database(backend: str, *, folder: Path | None = None) -> Iterator[str]:
    """A database URL that exists for the ``with`` block only (schema not yet created)."""
    if backend == "sqlite":
        if folder is not None:
            yield f"sqlite:///{folder / 'crier-bench.db'}"
            return
        with tempfile.TemporaryDirectory(prefix="crier-bench-") as made:
            yield f"sqlite:///{Path(made) / 'crier-bench.db'}"
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    admin_url = normalise_database_url(POSTGRES_ADMIN_URL)
    name = f"crier_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def migrated_store(url: str) -> Store:
    """Crier's store on ``url``, with the schema brought up to date."""
    store = open_store(url)
    upgrade(store)
    return store


def postgres_available() -> bool:
    """Whether the PostgreSQL server for throw-away databases answers."""
    engine = create_engine(normalise_database_url(POSTGRES_ADMIN_URL))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()
