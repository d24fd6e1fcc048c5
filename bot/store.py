"""Database engine and sessions; the engine is built by ``open_store`` and passed in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, event, exc
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

T = TypeVar("T")


def normalise_database_url(url: str) -> str:
    """Accept the usual ``postgresql://`` spelling and use the psycopg 3 driver for it."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_serialised(engine: Engine) -> None:
    # pysqlite starts transactions lazily, so two writers can both read and then one fails to
    # upgrade its lock. BEGIN IMMEDIATE takes the write lock up front; busy_timeout waits for it.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _sqlite_serialised(engine)
        return engine
    # pre_ping: after a PostgreSQL restart, stale pooled connections are replaced, not reused.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


@dataclass
class Store:
    """The database: sessions for the sync use cases, and a way to run them off the event loop."""

    engine: Engine

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

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in one transaction on a worker thread.

        >>> incident = await store.run(lambda s: s.get(Incident, 1))
        """

        def _in_transaction() -> T:
            with self.transaction() as session:
                return work(session)

        return await asyncio.to_thread(_in_transaction)

    def dispose(self) -> None:
        self.engine.dispose()


def is_unreachable(error: BaseException) -> bool:
    """Whether ``error`` means the database could not be used just now (down, restarting, a
    dropped connection, a full pool), as opposed to a bug in what was asked of it."""
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError):
        return True
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


def open_store(url: str) -> Store:
    return Store(engine=make_engine(url))
