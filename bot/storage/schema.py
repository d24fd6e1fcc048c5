"""Schema management through Alembic: upgrade, and refuse to run on an out-of-date database.

Processes started together (two ``crier serve`` and a ``crier worker``) each check the schema,
and on an empty database each would create it: every check and migration therefore runs in one
transaction that first takes the schema lock, and reads the revision only once it holds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from bot.storage.store import Store

MIGRATIONS = Path(__file__).parent / "migrations"

# The key of the PostgreSQL advisory lock that migrations hold: b"CrierDDL" as a 64-bit number.
# Every Crier version must use the same one, so that an old and a new process exclude each other.
SCHEMA_LOCK_KEY = 0x437269657244444C


class SchemaOutOfDate(Exception):
    """The database is behind (or ahead of) this version of Crier."""


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection  # migrations/env.py migrates on it
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(_alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations must have one head, found {heads}"
    return heads[0]


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _holding_schema_lock(store: Store) -> Iterator[Connection]:
    """A transaction that no other Crier process can be migrating beside; it commits on success.

    On PostgreSQL an advisory lock, released with the transaction; a process that finds it taken
    waits for the other's migration to commit. On SQLite the store's engine begins every
    transaction with ``BEGIN IMMEDIATE`` (``bot.storage.store.WRITER``), which takes the file's one
    write lock up front and waits for it (busy_timeout) instead of failing with "database is
    locked". Either way, what is read once the lock is held is what the other process committed."""
    with store.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        yield connection


def upgrade(store: Store, revision: str = "head") -> None:
    """Migrate to ``revision``; a migration already done by another process is not run again
    (Alembic reads the revision inside the lock)."""
    with _holding_schema_lock(store) as connection:
        command.upgrade(_alembic_config(connection), revision)


def downgrade(store: Store, revision: str) -> None:
    with _holding_schema_lock(store) as connection:
        command.downgrade(_alembic_config(connection), revision)


def ensure_current(store: Store) -> str:
    """Bring an empty database up to date; refuse one at another revision with what to do.

    Safe to call from several processes at once: one creates the schema, the others wait for
    it and find it current. Returns what happened, for the log.
    """
    head = head_revision()
    with _holding_schema_lock(store) as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current == head:
            return f"database schema is current ({head})"
        if current is None:
            tables = set(inspect(connection).get_table_names())
            if tables:
                raise SchemaOutOfDate(
                    f"the database has tables ({', '.join(sorted(tables)[:5])}…) but no Crier "
                    "schema version; point CRIER_DATABASE_URL at an empty database or Crier's own"
                )
            command.upgrade(_alembic_config(connection), head)
            return f"created a new database schema ({head})"
        raise SchemaOutOfDate(
            f"the database schema is at revision {current}, this Crier needs {head}: "
            "run `crier db upgrade` (back up the database first)"
        )
