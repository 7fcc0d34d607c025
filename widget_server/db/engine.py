"""The async engine: SQLite (WAL, foreign keys on) or PostgreSQL through asyncpg.

On both, the code writes in ``engine.begin()`` (or through ``group_commit``, which batches small
writes on a connection of its own) and reads in ``engine.connect()``.

On SQLite, ``engine.begin()`` starts ``BEGIN IMMEDIATE``: the transaction takes the write lock
at its start instead of failing with "database is locked" when it upgrades from a read lock
half-way through. Write transactions of one process also queue on an asyncio lock first, so they
wait for each other without SQLite's busy handler, which polls with sleeps of up to 100 ms. Other
processes on the same file still meet at SQLite's lock, with ``busy_timeout``. Statements go
through ``sqlite_driver``: one trip to aiosqlite's thread each.

On both, ``engine.connect()`` reads outside a transaction: each statement is a read of its own
(on SQLite in WAL mode, beside a writer). SQLAlchemy would otherwise wrap every read in BEGIN and
ROLLBACK, two trips more than the query, to aiosqlite's thread or to PostgreSQL (a ``SELECT 1``
cost 1.5 to 1.8 times the CPU, and up to twice the time); and PostgreSQL's READ COMMITTED, which
the code is written for, gives each statement its own snapshot either way, transaction or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from widget_server.db import sqlite_driver

_WRITE = "vitrine_write"
_CHECKED_IN = "vitrine_checked_in"
PING_AFTER_IDLE = 5.0  # seconds
AUTOCHECKPOINT_PAGES = 20_000  # about 80 MB of WAL


class SQLiteEngine(AsyncEngine):
    """An ``AsyncEngine`` whose ``begin()`` is a write transaction (see the module docstring)."""

    def __init__(self, sync_engine: Any) -> None:
        super().__init__(sync_engine)
        # One lock per event loop (tests and commands may use an engine from several loops).
        self._writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def write_lock(self) -> asyncio.Lock:
        """The lock this process's write transactions queue on (one per event loop)."""
        loop = asyncio.get_running_loop()
        writers = self._writers.get(loop)
        if writers is None:
            writers = self._writers[loop] = asyncio.Lock()
        return writers

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self.write_lock(), self.connect() as conn:
            await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                yield conn


class PostgresEngine(AsyncEngine):
    """An ``AsyncEngine`` whose ``connect()`` reads without a transaction (asyncpg in autocommit,
    see the module docstring); ``begin()`` is a transaction, on the same pool."""

    def __init__(self, sync_engine: Any) -> None:
        super().__init__(sync_engine)
        self._reads = AsyncEngine(sync_engine.execution_options(isolation_level="AUTOCOMMIT"))

    def connect(self) -> AsyncConnection:
        return self._reads.connect()

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with super().connect() as conn, conn.begin():
            yield conn


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        path = url.database or ":memory:"
        engine = create_async_engine(
            url,
            async_creator=lambda: sqlite_driver.connect(path, timeout=30),
            # Every transaction ends in COMMIT or ROLLBACK before its connection goes back (the
            # driver is in autocommit mode; BEGIN is explicit): a reset would be one more trip.
            pool_reset_on_return=None,
            **kwargs,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return SQLiteEngine(engine.sync_engine)
    # Room for the connections a busy process holds at once: past ``pool_size`` the pool opens
    # a connection per checkout and closes it on return, which under load costs more than the
    # queries (a chat message is one statement).
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 0)
    engine = create_async_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return PostgresEngine(engine.sync_engine)


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """A connection back from more than ``PING_AFTER_IDLE`` seconds in the pool answers a ping
    first; a dead one (a restarted server, a proxy's idle timeout) is replaced before use.
    SQLAlchemy's ``pool_pre_ping`` pings at every checkout, with asyncpg in three round trips
    (BEGIN, the ping, ROLLBACK): more than a chat message's whole write. A connection that
    dies while in use is caught by SQLAlchemy's disconnect handling, which renews the pool."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_CHECKED_IN)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"the connection did not answer a ping: {exc}") from exc


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_on_begin), so writes take the lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # SQLite checkpoints the WAL inside the commit that fills it past this many pages, holding
    # the write lock meanwhile: at 1,000 (the default) a busy chat stalls every writer for
    # 50-150 ms each time. The app checkpoints in the background instead (``checkpoint``,
    # every second); this is the backstop for processes that run no background jobs.
    cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    # A read (``engine.connect()``) starts no transaction: the driver is in autocommit mode, and
    # its COMMIT / ROLLBACK at the end are no-ops (``sqlite_driver``) with no trip to the thread.
    if conn.get_execution_options().get(_WRITE, False):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query (the health check)."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def checkpoint(engine: AsyncEngine) -> tuple[int, int] | None:
    """On SQLite, copy the WAL into the database without blocking readers or writers (a PASSIVE
    checkpoint); returns (frames in the WAL, frames copied), or None on other databases."""
    if engine.dialect.name != "sqlite":
        return None
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        row: tuple[Any, ...] = tuple(
            (await conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")).one()
        )
    return int(row[1]), int(row[2])  # (busy, frames in the WAL, frames copied)
