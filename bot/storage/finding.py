"""Which database a command that only reads (``crier outbox``, ``crier export``) reads.

CRIER_DATABASE_URL's, when it is set. Otherwise ``./crier.db``, or, when that was never set up
and ``crier sandbox`` left its data in this folder, the sandbox's (said on stderr). Reading
never creates a file, and a database without Crier's tables is one line, not a traceback.
"""

from __future__ import annotations

import sqlite3
import sys
from contextlib import closing
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot.settings import Settings
from bot.storage.store import CannotOpenDatabase, Store, open_store

SANDBOX_DATABASE = "crier-sandbox.db"  # what ``crier sandbox`` keeps in the folder it runs in
SANDBOX_URL = f"sqlite:///{SANDBOX_DATABASE}"
SANDBOX_HELP = (
    f"read the data of `crier sandbox` run in this folder ({SANDBOX_DATABASE}); without it: "
    "CRIER_DATABASE_URL's database, else crier.db, else the sandbox's if there is no crier.db"
)
NEVER_SET_UP = (
    "has none of Crier's tables: it was never set up. `crier db upgrade` sets it up; "
    "`crier serve` and `crier sandbox` do it themselves"
)
UNDEFINED_TABLE = "42P01"  # PostgreSQL's sqlstate for a missing table


def open_to_read(settings: Settings, *, sandbox: bool = False) -> Store:
    """The store to read, checked: ``CannotOpenDatabase`` (one line) when there is no such
    file or it has no tables, before anything is created or queried."""
    url = settings.database_url
    if sandbox:
        url = SANDBOX_URL
    elif "database_url" not in settings.model_fields_set and _sandbox_instead(url):
        print(
            f"crier: no crier.db here: reading the sandbox's {SANDBOX_DATABASE} (set "
            "CRIER_DATABASE_URL to read another database)",
            file=sys.stderr,
        )
        url = SANDBOX_URL
    path = sqlite_file(url)
    if path is not None and not path.exists():
        hint = (
            "run this in the folder where `crier sandbox` runs"
            if url == SANDBOX_URL
            else "Crier has not run with it (`crier sandbox` keeps its data in "
            f"{SANDBOX_DATABASE}, in the folder it runs in)"
        )
        raise CannotOpenDatabase(_shown(url), f"there is no file {path.absolute()} yet: {hint}")
    store = open_store(url)
    if not inspect(store.engine).has_table("alembic_version"):
        store.dispose()
        raise CannotOpenDatabase(_shown(url), f"it {NEVER_SET_UP}")
    return store


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (relative to the working folder); None for an in-memory one
    or another database (or a URL that is none: ``open_store`` says what is wrong with it)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def is_missing_table(error: DBAPIError) -> bool:
    """Whether ``error`` says a table does not exist (SQLite's or PostgreSQL's words)."""
    said = str(error.orig)
    return "no such table" in said or getattr(error.orig, "sqlstate", None) == UNDEFINED_TABLE


def _sandbox_instead(url: str) -> bool:
    """Whether the default database was never set up here while the sandbox's was."""
    default, sandbox = sqlite_file(url), Path(SANDBOX_DATABASE)
    return default is not None and not _has_tables(default) and _has_tables(sandbox)


def _has_tables(path: Path) -> bool:
    """Whether ``path`` is a SQLite file with Crier's schema, looked at without creating it
    (read-only: no journal files either)."""
    if not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as db:
            found = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
    except sqlite3.Error:
        return False
    return found is not None


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
