"""Database engine and sessions; the engine is built by ``open_store`` and passed in."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import select
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Engine, event, exc
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


def _sqlite_sessions(engine: Engine, role: tuple[str, tuple[str, ...]]) -> None:
    begin, pragmas = role

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


def make_engine(url: str) -> Engine:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_sessions(engine, WRITER)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10)
    _replace_closed_connections(engine)
    return engine


def _replace_closed_connections(engine: Engine) -> None:
    """After a PostgreSQL restart, pooled connections are replaced, not reused (no error).

    A restart (or ``pg_terminate_backend``) leaves a FATAL message and the end of the stream
    waiting on each idle connection's socket, so looking at the socket tells, without asking
    the server. SQLAlchemy's ``pool_pre_ping`` asks it (a ``SELECT 1`` before every
    transaction): a third of all round trips to PostgreSQL under load, each waking one of its
    processes, which on a machine shared with ``crier serve`` delayed the acks (bench/README).
    A connection that dies silently (a cut network) fails its transaction with a clear message,
    and the pool is renewed then."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if _closed_by_server(dbapi_connection):
            # Every pooled connection is as old: renew them all, as pre-ping would.
            raise exc.InvalidatePoolError("PostgreSQL closed this connection (a restart?)")


def _closed_by_server(dbapi_connection: Any) -> bool:
    if dbapi_connection.closed:
        return True
    try:
        waiting, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(waiting)  # an idle connection is sent nothing unless it is being closed


class _CutBeforeCommit(Exception):
    """A transaction's connection was found dead before it committed."""

    def __init__(self, error: exc.DBAPIError) -> None:
        super().__init__(str(error))
        self.error = error


def _marking_cuts(work: Callable[[Session], T], session: Session) -> T:
    """``work(session)``, a dead connection found on the way raised as ``_CutBeforeCommit``."""
    try:
        return work(session)
    except exc.DBAPIError as error:
        if error.connection_invalidated:
            raise _CutBeforeCommit(error) from error
        raise


def _once_more_if_cut(call: Callable[[], T]) -> T:
    """Run a transaction; if its connection turns out dead before it committed (a PostgreSQL
    restart that a pooled connection had not yet noticed), run it again on a fresh one. The
    server ended the first without committing it, and the work is database work only, so
    running it again is safe; SQLAlchemy has by then renewed the pool. A connection lost while
    committing is not retried: whether it committed cannot be known."""
    try:
        return call()
    except _CutBeforeCommit:
        log.warning("a database connection was found closed; trying once more on a new one")
    try:
        return call()
    except _CutBeforeCommit as cut:
        raise cut.error from None


def make_read_engine(engine: Engine) -> Engine:
    """The engine for read-only transactions: on SQLite a second one without the write lock;
    on PostgreSQL the same pool in autocommit, since under READ COMMITTED each statement sees
    its own snapshot whether or not it is in a transaction: BEGIN and ROLLBACK would only cost
    two round trips per read."""
    if engine.dialect.name != "sqlite":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    reader = create_engine(engine.url, connect_args={"check_same_thread": False, "timeout": 30})
    _sqlite_sessions(reader, READER)
    return reader


class Lane(StrEnum):
    """Which threads run a transaction. Publishing and reminders have their own, so a burst of
    chat traffic (every thread busy, or waiting for SQLite's one writer) cannot hold them up."""

    CHAT = "chat"
    BACKGROUND = "background"


LANE_THREADS = {Lane.CHAT: 4, Lane.BACKGROUND: 4}


@dataclass
class Store:
    """The database: sessions for the sync use cases, and a way to run them off the event loop."""

    engine: Engine
    read_engine: Engine | None = None
    _lanes: dict[Lane, ThreadPoolExecutor] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.read_engine is None:
            self.read_engine = make_read_engine(self.engine)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read-only session: it never takes SQLite's write lock, and is always rolled back.

        Closing (not ``rollback()``) ends it: the rollback happens on the connection, and what
        was read stays loaded, as after ``transaction()``, instead of being expired."""
        assert self.read_engine is not None
        with Session(self.read_engine, expire_on_commit=False) as session:
            yield session

    async def run(self, work: Callable[[Session], T], *, lane: Lane = Lane.CHAT) -> T:
        """Run ``work(session)`` in one transaction on one of the lane's threads.

        >>> incident = await store.run(lambda s: s.get(Incident, 1))
        """

        def _in_transaction() -> T:
            with self.transaction() as session:  # its commit, if cut, is not retried
                return _marking_cuts(work, session)

        return await self._off_loop(lambda: _once_more_if_cut(_in_transaction), lane)

    async def read(self, work: Callable[[Session], T], *, lane: Lane = Lane.CHAT) -> T:
        """Run read-only ``work(session)`` off the event loop, without taking a write lock."""

        def _in_snapshot() -> T:
            with self.snapshot() as session:
                return _marking_cuts(work, session)

        return await self._off_loop(lambda: _once_more_if_cut(_in_snapshot), lane)

    async def _off_loop(self, call: Callable[[], T], lane: Lane) -> T:
        executor = self._lanes.get(lane)
        if executor is None:
            executor = ThreadPoolExecutor(LANE_THREADS[lane], thread_name_prefix=f"db-{lane}")
            self._lanes[lane] = executor
        context = contextvars.copy_context()  # as asyncio.to_thread does, for the log's context
        return await asyncio.get_running_loop().run_in_executor(executor, context.run, call)

    def dispose(self) -> None:
        for executor in self._lanes.values():
            executor.shutdown(wait=True)
        self._lanes.clear()
        self.engine.dispose()
        if self.read_engine is not None and self.read_engine is not self.engine:
            self.read_engine.dispose()


def is_unreachable(error: BaseException) -> bool:
    """Whether ``error`` means the database could not be used just now (down, restarting, a
    dropped connection, a full pool), as opposed to a bug in what was asked of it."""
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError):
        return True
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


def open_store(url: str) -> Store:
    return Store(engine=make_engine(url))
