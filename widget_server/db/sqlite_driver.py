"""aiosqlite with one trip to the connection's thread per statement.

aiosqlite runs every call of a cursor on the connection's own thread, and SQLAlchemy makes four of
them for each statement: open a cursor, execute, fetch the rows, close. Each trip waits for the
thread and then for the event loop, so a short write transaction (BEGIN, UPDATE … RETURNING,
INSERT, COMMIT) cost about 1.4 ms, where the same work on the thread takes 0.17 ms; on SQLite
every write waits for the one before, so that was the ceiling of chat messages a second.

``OneTripCursor`` opens, executes, reads every row and closes the sqlite3 cursor in one trip, then
answers ``fetch*`` from those rows. ``connect`` makes the connection SQLAlchemy's aiosqlite
dialect drives (``create_async_engine(async_creator=…)``), so nothing else changes: the same
thread, the same sqlite3 connection, the same errors.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar

import aiosqlite
from aiosqlite.context import contextmanager

T = TypeVar("T")
Description = tuple[tuple[str, None, None, None, None, None, None], ...]


class OneTripCursor(aiosqlite.Cursor):
    def __init__(self, conn: aiosqlite.Connection) -> None:  # no sqlite3 cursor is kept
        self.iter_chunk_size = conn._iter_chunk_size
        self._conn = conn
        self._rows: deque[Any] = deque()
        self._description: Description | None = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    async def _run(self, call: Callable[[sqlite3.Cursor], object]) -> None:
        def trip() -> tuple[Description | None, list[Any], int, int | None]:
            cursor = self._conn._conn.cursor()
            try:
                call(cursor)
                rows = cursor.fetchall() if cursor.description else []
                return cursor.description, rows, cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        done = await self._conn._execute(trip)  # type: ignore[no-untyped-call]
        self._description, rows, self._rowcount, self._lastrowid = done
        self._rows = deque(rows)

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        await self._run(
            lambda cursor: cursor.execute(sql, [] if parameters is None else parameters)
        )
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        await self._run(lambda cursor: cursor.executemany(sql, parameters))
        return self

    async def executescript(self, sql_script: str) -> OneTripCursor:
        await self._run(lambda cursor: cursor.executescript(sql_script))
        return self

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(self._arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    @property
    def description(self) -> Description:
        return self._description  # type: ignore[return-value]  # None before any row query


class OneTripConnection(aiosqlite.Connection):
    async def run(self, call: Callable[[sqlite3.Connection], T]) -> T:
        """``call(the sqlite3 connection)`` on the connection's thread, in one trip."""
        return await self._execute(call, self._conn)  # type: ignore[no-untyped-call,no-any-return]

    @contextmanager
    async def cursor(self) -> aiosqlite.Cursor:
        return OneTripCursor(self)

    async def commit(self) -> None:
        if self._conn.in_transaction:  # else nothing to end, and no trip for it
            await super().commit()

    async def rollback(self) -> None:
        if self._conn.in_transaction:
            await super().rollback()


def connect(database: str, **kwargs: Any) -> OneTripConnection:
    """Like ``aiosqlite.connect``, with one-trip cursors; its thread never holds the process."""
    connection = OneTripConnection(partial(sqlite3.connect, database, **kwargs), 64)
    connection._thread.daemon = True
    return connection
