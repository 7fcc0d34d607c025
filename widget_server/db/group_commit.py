"""Group commit on SQLite: many small write transactions of one process in one ``COMMIT``.

SQLite takes one writer at a time, and a write transaction driven statement by statement through
SQLAlchemy's async layer costs about 2.5 ms of CPU on the event loop for 0.1 ms of work on the
database (greenlet switches, statement and result machinery, one trip to aiosqlite's thread per
statement). For the hottest write, a chat message (one UPDATE … RETURNING and one INSERT), that
cost was the ceiling of messages a second, and every message queued behind the one before.

``run(engine, work)`` queues ``work``, a plain function of the ``sqlite3`` connection, and waits
for its result. One task per event loop drains the queue: it takes the engine's write lock (the
same one ``engine.begin()`` queues on), and in ONE trip to the connection's thread runs
``BEGIN IMMEDIATE``, each queued function inside its own ``SAVEPOINT``, and one ``COMMIT``. A
function that raises is rolled back to its savepoint alone and its caller gets the error (a
``sqlite3.Error`` as the SQLAlchemy exception it would have been, e.g. ``IntegrityError``); the
others are committed. If the COMMIT itself fails, nothing of the batch is written and every
caller gets that error. A caller cancelled before its batch starts has nothing written; once the
batch has started, its work stands. Under load the queue fills while the previous batch
commits, so the cost of a transaction is shared by everything that arrived meanwhile; alone, a
write still goes at once.

``Prepared`` is the other half: a Core statement compiled once for the engine's dialect, whose
parameters and rows go through the same type processing SQLAlchemy applies (dates, JSON,
booleans), so the functions run SQLAlchemy's own SQL without its per-statement machinery.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]

MAX_BATCH = 500  # functions in one transaction; the rest wait for the next


class Prepared:
    """A statement compiled once: ``sql`` with ``?`` placeholders, ``parameters`` for it, and
    ``row`` to read a result row (``returns``: the statement's result columns, in order)."""

    def __init__(
        self,
        statement: ClauseElement,
        dialect: Dialect,
        *,
        column_keys: Sequence[str] | None = None,
        returns: Iterable[ColumnElement[Any]] = (),
    ) -> None:
        if dialect.paramstyle != "qmark":
            raise ValueError("Prepared statements are for SQLite's qmark parameters")
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys or ()) or None)
        if not isinstance(compiled, SQLCompiler):
            raise TypeError("Prepared statements are SQL statements")
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("Prepared statements run no Python-side column defaults")
        self.sql = compiled.string
        self._compiled = compiled
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self._binds = [
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self._names
        ]
        columns = list(returns)
        self._keys = [str(column.key) for column in columns]
        self._results = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]

    def position(self, name: str) -> int:
        """Where the parameter ``name`` goes in ``parameters``' list."""
        return self._names.index(name)

    def column(self, key: str) -> int:
        """Where the result column ``key`` is in a raw row."""
        return self._keys.index(key)

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional parameters for ``values`` (with the statement's own literals)."""
        full = self._compiled.construct_params(dict(values))
        assert full is not None  # None only for compiled DDL
        return [
            full[name] if process is None else process(full[name])
            for name, process in zip(self._names, self._binds, strict=True)
        ]

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        """A row of ``returns`` as {column key: Python value}."""
        return {
            key: value if process is None else process(value)
            for key, process, value in zip(self._keys, self._results, raw, strict=True)
        }


@dataclass
class _Queue:
    items: list[tuple[Work, asyncio.Future[Any]]] = field(default_factory=list)
    drainer: asyncio.Task[None] | None = None


_queues: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[AsyncEngine, _Queue]
] = weakref.WeakKeyDictionary()


async def run(engine: AsyncEngine, work: Callable[[sqlite3.Connection], T]) -> T:
    """``work(connection)`` inside a write transaction shared with other queued work; its
    result, or its error (see the module docstring)."""
    from widget_server.db.engine import SQLiteEngine

    if not isinstance(engine, SQLiteEngine):
        raise TypeError("group commit is for SQLite engines")
    loop = asyncio.get_running_loop()
    queue = _queues.setdefault(loop, weakref.WeakKeyDictionary()).setdefault(engine, _Queue())
    future: asyncio.Future[T] = loop.create_future()
    queue.items.append((work, future))
    if queue.drainer is None:
        queue.drainer = loop.create_task(_drain(engine, queue))
    return await future


async def _drain(engine: Any, queue: _Queue) -> None:
    batch: list[tuple[Work, asyncio.Future[Any]]] = []
    try:
        while queue.items:
            batch, queue.items = queue.items[:MAX_BATCH], queue.items[MAX_BATCH:]
            batch = [(work, future) for work, future in batch if not future.cancelled()]
            if not batch:
                continue
            try:
                async with engine.write_lock(), engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    works = [work for work, _ in batch]
                    outcomes = await raw.driver_connection.run(
                        functools.partial(_transaction, works=works)
                    )
            except Exception as exc:  # the transaction failed as a whole: nothing was written
                error = _sqlalchemy_error(exc)
                outcomes = [(False, error)] * len(batch)
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():  # its caller went away meanwhile; the work stands
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(_sqlalchemy_error(value))
            batch = []
    except BaseException:  # cancelled (the loop is closing): so are the callers still waiting
        for _, future in batch + queue.items:
            future.cancel()
        queue.items.clear()
        raise
    finally:
        queue.drainer = None


def _transaction(db: sqlite3.Connection, works: list[Work]) -> list[tuple[bool, Any]]:
    """On the connection's thread: every work in its savepoint, one commit for all."""
    db.execute("BEGIN IMMEDIATE")
    outcomes: list[tuple[bool, Any]] = []
    try:
        for work in works:
            db.execute("SAVEPOINT vitrine_work")
            try:
                outcomes.append((True, work(db)))
            except Exception as exc:
                db.execute("ROLLBACK TO vitrine_work")
                outcomes.append((False, exc))
            db.execute("RELEASE vitrine_work")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return outcomes


def _sqlalchemy_error(exc: Exception) -> Exception:
    """A ``sqlite3`` error as SQLAlchemy raises it from a statement; others unchanged."""
    if isinstance(exc, sqlite3.Error):
        return DBAPIError.instance(None, None, exc, sqlite3.Error)
    return exc
