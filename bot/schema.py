"""Schema management through Alembic: upgrade, and refuse to run on an out-of-date database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot.store import Store

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutOfDate(Exception):
    """The database is behind (or ahead of) this version of Crier."""


def _alembic_config(store: Store) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision(store: Store) -> str:
    heads = ScriptDirectory.from_config(_alembic_config(store)).get_heads()
    assert len(heads) == 1, f"migrations must have one head, found {heads}"
    return heads[0]


def current_revision(store: Store) -> str | None:
    with store.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(store: Store, revision: str = "head") -> None:
    config = _alembic_config(store)
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(store: Store, revision: str) -> None:
    config = _alembic_config(store)
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def ensure_current(store: Store) -> str:
    """Bring an empty database up to date; refuse one at another revision with what to do.

    Returns what happened, for the log.
    """
    current = current_revision(store)
    head = head_revision(store)
    if current == head:
        return f"database schema is current ({head})"
    if current is None:
        tables = set(inspect(store.engine).get_table_names())
        if tables:
            raise SchemaOutOfDate(
                f"the database has tables ({', '.join(sorted(tables)[:5])}…) but no Crier schema "
                "version; point CRIER_DATABASE_URL at an empty database or Crier's own"
            )
        upgrade(store)
        return f"created a new database schema ({head})"
    raise SchemaOutOfDate(
        f"the database schema is at revision {current}, this Crier needs {head}: "
        "run `crier db upgrade` (back up the database first)"
    )
