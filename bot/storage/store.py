"""Database engine and sessions; the engine is built by ``open_store`` and passed in."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import URL, Engine, event, exc
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

T = TypeVar("T")
log = logging.getLogger(__name__)


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgresql://`` spelling and use the psycopg 3 driver for it."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# pysqlite starts transactions lazily, so two writers can both read and then one fails to
# upgrade its lock. BEGIN IMMEDIATE takes the write lock up front; busy_timeout waits for it.
# WAL with synchronous=NORMAL: a commit survives Crier being killed (the fault tests do it), and
# only a power cut can roll back the last moments; FULL would fsync each commit. PostgreSQL is
# the choice where that matters.
WRITER = (
    "BEGIN IMMEDIATE",
    ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"),
)
# Reads need no write lock: in WAL mode a plain (deferred) BEGIN sees a consistent snapshot while
# a writer works, so showing a post never waits behind someone else's approval.
READER = ("BEGIN", ("busy_timeout=30000", "query_only=ON"))
WAL_SWITCH_WAIT = 30.0  # seconds, as the busy timeout


def _sqlite_engine(url: str | URL, role: tuple[str, tuple[str, ...]]) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    begin, pragmas = role

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            _pragma(cursor, pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def _pragma(cursor: Any, pragma: str) -> None:
    """Run a PRAGMA. Switching a new file to WAL can meet another process doing the same at
    that very moment, and SQLite then says "database is locked" at once, without waiting for
    its busy timeout (processes started together on a new file): try again for a while."""
    deadline = time.monotonic() + WAL_SWITCH_WAIT
    while True:
        try:
            cursor.execute(f"PRAGMA {pragma}")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


# Seconds to wait for PostgreSQL to accept a connection (libpq waits for ever by default): a
# server behind a firewall that drops packets is then a clear message, not a hang.
CONNECT_TIMEOUT = 10


def make_engine(url: str) -> Engine:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, WRITER)
    timeout = (
        {} if "connect_timeout" in make_url(url).query else {"connect_timeout": CONNECT_TIMEOUT}
    )
    # pool_pre_ping: after a PostgreSQL restart a pooled connection is tested and replaced
    # before a transaction uses it, rather than failing the person's request.
    return create_engine(
        url, pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args=timeout
    )


def make_read_engine(engine: Engine) -> Engine:
    """The engine for read-only transactions: on SQLite a second one without the write lock;
    on PostgreSQL the same pool in autocommit, since under READ COMMITTED each statement sees
    its own snapshot whether or not it is in a transaction: BEGIN and ROLLBACK would only cost
    two round trips per read."""
    if engine.dialect.name != "sqlite":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return _sqlite_engine(engine.url, READER)


@dataclass
class Store:
    """The database: sessions for the sync use cases, and a way to run them off the event loop."""

    engine: Engine
    read_engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.read_engine = make_read_engine(self.engine)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in one transaction, off the event loop.

        >>> incident = await store.run(lambda s: s.get(Incident, 1))
        """

        def _in_transaction() -> T:
            for attempt in range(1, CONFLICT_ATTEMPTS + 1):
                try:
                    with self.transaction() as session:
                        return work(session)
                except exc.DBAPIError as error:
                    lost = getattr(error.orig, "sqlstate", None) in CONFLICT_STATES
                    if not lost or attempt == CONFLICT_ATTEMPTS:
                        raise
                    log.info("a transaction lost a conflict with another (%s): again", error.orig)
            raise AssertionError("unreachable")

        return await asyncio.to_thread(_in_transaction)

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run read-only ``work(session)`` off the event loop: it never takes SQLite's write
        lock, and is always rolled back.

        Closing (not ``rollback()``) ends it: the rollback happens on the connection, and what
        was read stays loaded, as after ``transaction()``, instead of being expired."""

        def _in_snapshot() -> T:
            with Session(self.read_engine, expire_on_commit=False) as session:
                return work(session)

        return await asyncio.to_thread(_in_snapshot)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


# PostgreSQL ends one of two transactions that wait for each other (a deadlock: two processes
# recording deliveries of one post, say) or that conflict under stricter isolation; the one
# ended did nothing, and running it again is the documented remedy.
CONFLICT_STATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
CONFLICT_ATTEMPTS = 3


def is_unreachable(error: BaseException) -> bool:
    """Whether ``error`` means the database could not be used just now (down, restarting, a
    dropped connection, a full pool), as opposed to a bug in what was asked of it."""
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError):
        return True
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


class CannotOpenDatabase(Exception):
    """The database cannot be opened: its URL, its server or its file. ``where`` is the URL with
    its password hidden ("" when it could not be parsed); ``why`` says why and what to check,
    with the host and port or the file, in one line, never the password."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}" if where else why)
        self.where, self.why = where, why


def open_store(url: str) -> Store:
    """The database at ``url``, checked now by opening one connection, so that every command
    fails at once and clearly (``CannotOpenDatabase``) rather than at its first query."""
    parsed = _parse_database_url(url)
    shown = parsed.render_as_string(hide_password=True)
    try:
        store = Store(engine=make_engine(url))
    except (exc.NoSuchModuleError, ImportError):
        why = f"the driver {parsed.drivername} is not installed; set CRIER_DATABASE_URL to {_HOW}"
        raise CannotOpenDatabase(shown, why) from None
    try:
        with store.engine.connect():
            pass
    except exc.DBAPIError as error:
        store.dispose()
        raise CannotOpenDatabase(shown, _why_not(parsed, error)) from None
    return store


_HOW = "sqlite:///path/to/crier.db or postgresql://user:password@host:5432/name"


def _parse_database_url(url: str) -> URL:
    """``url`` parsed, or ``CannotOpenDatabase``; the message never repeats the URL, which could
    not be parsed, so its password could not be hidden."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise CannotOpenDatabase(
            "", f"CRIER_DATABASE_URL is not a database URL; Crier expects {_HOW}"
        ) from None
    except ValueError:  # the port is not a number
        raise CannotOpenDatabase(
            "", f"CRIER_DATABASE_URL's port is not a number; Crier expects {_HOW}"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise CannotOpenDatabase(
            shown,
            f"Crier runs on SQLite or PostgreSQL, not {parsed.get_backend_name()}; "
            f"set CRIER_DATABASE_URL to {_HOW}",
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise CannotOpenDatabase(
            shown, f"the port {parsed.port} is not a port (1 to 65535); check CRIER_DATABASE_URL"
        )
    return parsed


def _why_not(url: URL, error: exc.DBAPIError) -> str:
    """Why a first connection failed, for the person who runs Crier: where, why, what to check."""
    said = str(error.orig)
    if url.password:
        said = said.replace(str(url.password), "***")
    if url.get_backend_name() == "sqlite":
        return _sqlite_why_not(url.database or "", said)
    host, port = url.host or "localhost", url.port or 5432
    at, user, name = f"{host} port {port}", url.username or "", url.database or ""
    reasons = {
        r"password authentication failed": (
            f'PostgreSQL at {at} refused the password of user "{user}". Check the user and '
            "password in CRIER_DATABASE_URL"
        ),
        r"database \"[^\"]*\" does not exist": (
            f'PostgreSQL at {at} has no database "{name}". Create it (createdb -h {host} '
            f"-p {port} -O {user or 'crier'} {name}) or correct the name in CRIER_DATABASE_URL"
        ),
        r"role \"[^\"]*\" does not exist": (
            f'PostgreSQL at {at} has no user "{user}". Create it, or correct the user in '
            "CRIER_DATABASE_URL"
        ),
        r"no password supplied": (
            f'PostgreSQL at {at} asks user "{user}" for a password and CRIER_DATABASE_URL has none'
        ),
        r"no pg_hba\.conf entry": (
            f'PostgreSQL at {at} does not let user "{user}" connect from here to database '
            f'"{name}" (pg_hba.conf). Ask its administrator to allow it'
        ),
        r"connection refused": (
            f"nothing accepts connections at {at} (connection refused). Check that PostgreSQL "
            "is running there and that the host and port in CRIER_DATABASE_URL are right"
        ),
        r"timeout expired|timed out": (
            f"no answer from {at} within {CONNECT_TIMEOUT} s. Check the host and port in "
            "CRIER_DATABASE_URL, and any firewall between"
        ),
        r"resolve host|translate host name|not known|nodename nor servname": (
            f'there is no host named "{host}". Check the host in CRIER_DATABASE_URL'
        ),
        r"starting up|shutting down|in recovery": (
            f"PostgreSQL at {at} is starting or stopping. Try again in a moment"
        ),
        r"too many connections|connection slots": (
            f"PostgreSQL at {at} has no connection to spare (too many clients). Check its "
            "max_connections and who else is connected"
        ),
    }
    for pattern, message in reasons.items():
        if re.search(pattern, said, flags=re.IGNORECASE):
            return message
    return (
        f"PostgreSQL at {at} refused the connection ({_first_reason(said)}). "
        "Check CRIER_DATABASE_URL"
    )


def _sqlite_why_not(database: str, said: str) -> str:
    path = Path(database).absolute()
    folder = path.parent
    if not folder.exists():
        return (
            f"the folder {folder} does not exist. Create it, or point CRIER_DATABASE_URL at a "
            "file in a folder that does"
        )
    if not folder.is_dir():
        return f"{folder} is not a folder. Point CRIER_DATABASE_URL at a file in a folder"
    if "not a database" in said:
        return f"{path} is not a SQLite database. Point CRIER_DATABASE_URL at Crier's own file"
    return (
        f"cannot create or write {path} ({_first_reason(said)}). Check the permissions of "
        f"{folder} and of the file for the user Crier runs as (uid {os.getuid()}): SQLite "
        "writes the file and its -wal and -shm files beside it"
    )


def _first_reason(said: str) -> str:
    """The driver's own words, in short: the last "failed:" of its first line, FATAL left off."""
    first = said.strip().splitlines()[0] if said.strip() else "no reason given"
    reason = first.rsplit("failed: ", 1)[-1]
    return re.sub(r"^(FATAL|ERROR):\s*", "", reason).strip()[:200]
