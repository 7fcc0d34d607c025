"""Group commit: the small write transactions one process makes at the same moment, in one.

The hottest write, a chat message, is one tiny change; what it costs is the machinery around it.
On SQLite a write transaction driven statement by statement through SQLAlchemy's async layer
costs about 2.5 ms of CPU on the event loop for 0.1 ms of work in the database (greenlets,
statement and result machinery, a trip to aiosqlite's thread per statement), and every message
waited for the one before: that was the ceiling of messages a second. On PostgreSQL each message
was its own round trip and its own commit, whose WAL flush (0.4 ms here, and far longer now and
then) the next one waited behind on a busy connection pool.

Callers queue their write and wait for its outcome; one task per engine and event loop drains the
queue, so under load everything that arrived while a batch ran goes in the next one, and a lone
write still goes at once.

- SQLite, ``run(engine, work)``: ``work`` is a plain function of the ``sqlite3`` connection. The
  batch takes the engine's write lock (the one ``engine.begin()`` queues on) and, in ONE trip to
  the connection's thread, runs ``BEGIN IMMEDIATE``, each work in its own ``SAVEPOINT``, and one
  ``COMMIT``. A work that raises is rolled back to its savepoint alone and its caller gets the
  error (a ``sqlite3.Error`` as the SQLAlchemy exception it would have been, e.g.
  ``IntegrityError``); the others are committed.
- PostgreSQL, ``fetch_row(engine, sql, args, …)``: the same statement with each caller's
  parameters, all in one round trip and one implicit transaction (asyncpg's ``fetchmany``). If
  one fails, PostgreSQL rolls them all back, and each runs again alone, so an error reaches only
  its own caller. Up to four batches run at once, each on a connection of its own, so the next
  one starts while another waits for its commit's WAL flush.

If a batch fails as a whole (its COMMIT, the connection), nothing of it is written and every
caller gets the error. A caller cancelled before its batch starts has nothing written; once the
batch has started, its work stands.

``Prepared`` is the other half: a Core statement compiled once for the engine's dialect, whose
parameters and rows go through the type processing SQLAlchemy applies (dates, JSON, booleans), so
batches run SQLAlchemy's own SQL without its per-statement machinery.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import ColumnElement
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from widget_server.db.engine import SQLiteEngine

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]


class Prepared:
    """A statement compiled once: ``sql`` (``?`` or ``$n`` placeholders), ``parameters`` for it,
    and ``row`` to read a result row (``returns``: the statement's result columns, in order)."""

    def __init__(
        self,
        statement: ClauseElement,
        dialect: Dialect,
        *,
        column_keys: Sequence[str] | None = None,
        returns: Iterable[ColumnElement[Any]] = (),
    ) -> None:
        if dialect.paramstyle not in ("qmark", "numeric_dollar"):  # SQLite's, asyncpg's
            raise ValueError(f"Prepared statements take no {dialect.paramstyle} parameters")
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


# --- the queue: one per engine and event loop, drained by one task ---------------------------

Outcome = tuple[bool, Any]  # (True, result) or (False, the exception for its caller)
Runner = Callable[[AsyncEngine, Any, list[Any]], Awaitable[list[Outcome]]]


@dataclass
class _Waiting:
    job: Any
    future: asyncio.Future[Any]


@dataclass
class _Queue:
    # per (runner, group): the jobs queued for the next batch, in order
    pending: dict[tuple[Runner, Hashable], list[_Waiting]] = field(default_factory=dict)
    drainer: asyncio.Task[None] | None = None
    batches: dict[asyncio.Task[None], Runner] = field(default_factory=dict)  # running
    finished: asyncio.Event = field(default_factory=asyncio.Event)


_queues: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[AsyncEngine, _Queue]
] = weakref.WeakKeyDictionary()


async def _submit(engine: AsyncEngine, runner: Runner, group: Hashable, job: Any) -> Any:
    """Queue ``job`` for the next ``runner(engine, group, jobs)`` and wait for its outcome."""
    loop = asyncio.get_running_loop()
    queue = _queues.setdefault(loop, weakref.WeakKeyDictionary()).setdefault(engine, _Queue())
    future: asyncio.Future[Any] = loop.create_future()
    queue.pending.setdefault((runner, group), []).append(_Waiting(job, future))
    if queue.drainer is None:
        queue.drainer = loop.create_task(_drain(engine, queue))
    return await future


async def _drain(engine: AsyncEngine, queue: _Queue) -> None:
    """Start a batch of each group's queued jobs as soon as its runner has room."""
    try:
        while queue.pending:
            running = list(queue.batches.values())
            ready = [key for key in queue.pending if running.count(key[0]) < _AT_ONCE[key[0]]]
            if not ready:
                queue.finished.clear()
                await queue.finished.wait()
                continue
            runner, group = ready[0]
            waiting = [one for one in queue.pending.pop(ready[0]) if not one.future.cancelled()]
            if waiting:
                batch = asyncio.get_running_loop().create_task(
                    _batch(engine, runner, group, waiting)
                )
                queue.batches[batch] = runner
                batch.add_done_callback(functools.partial(_finished, queue))
    except BaseException:  # cancelled (the loop is closing): so are the callers still waiting
        for one in [one for ones in queue.pending.values() for one in ones]:
            one.future.cancel()
        queue.pending.clear()
        raise
    finally:
        queue.drainer = None


def _finished(queue: _Queue, batch: asyncio.Task[None]) -> None:
    del queue.batches[batch]
    queue.finished.set()


async def _batch(engine: AsyncEngine, runner: Runner, group: Any, waiting: list[_Waiting]) -> None:
    try:
        try:
            outcomes = await runner(engine, group, [one.job for one in waiting])
        except Exception as exc:  # the batch failed as a whole: nothing was written
            outcomes = [(False, exc)] * len(waiting)
    except BaseException:  # cancelled: so are its callers
        for one in waiting:
            one.future.cancel()
        raise
    for one, (ok, value) in zip(waiting, outcomes, strict=True):
        if one.future.done():  # its caller went away meanwhile; the work stands
            continue
        if ok:
            one.future.set_result(value)
        else:
            one.future.set_exception(value)


# --- SQLite ----------------------------------------------------------------------------------


async def run(engine: AsyncEngine, work: Callable[[sqlite3.Connection], T]) -> T:
    """SQLite: ``work(connection)`` inside a write transaction shared with the other work queued
    meanwhile; its result, or its error (see the module docstring)."""
    if not isinstance(engine, SQLiteEngine):
        raise TypeError("this group commit is for SQLite engines")
    result: T = await _submit(engine, _run_sqlite, None, work)
    return result


async def _run_sqlite(engine: Any, _group: None, works: list[Work]) -> list[Outcome]:
    try:  # engine: a SQLiteEngine (``run`` checks)
        async with engine.write_lock(), engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            outcomes: list[Outcome] = await driver.run(functools.partial(_transaction, works=works))
    except sqlite3.Error as exc:  # the transaction failed as a whole: nothing was written
        outcomes = [(False, exc)] * len(works)
    return [(ok, value if ok else _sqlalchemy_error(value)) for ok, value in outcomes]


def _transaction(db: sqlite3.Connection, works: list[Work]) -> list[Outcome]:
    """On the connection's thread: every work in its savepoint, one commit for all."""
    db.execute("BEGIN IMMEDIATE")
    outcomes: list[Outcome] = []
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


# --- PostgreSQL ------------------------------------------------------------------------------


async def fetch_row(
    engine: AsyncEngine,
    sql: str,
    args: Sequence[Any],
    *,
    key: tuple[Any, ...],
    key_columns: tuple[int, ...],
) -> Any:
    """PostgreSQL: the row that ``sql`` (a ``Prepared`` statement's) returns for ``args``, or
    None; committed when this returns. Its row is the one whose values at ``key_columns`` are
    ``key``.

    The statements queued meanwhile with the same SQL run with it in one round trip and one
    implicit transaction (asyncpg's ``fetchmany``): one commit, so one WAL flush, for all. If
    that fails, nothing of it was written, and each runs again alone in its own transaction,
    so an error (a duplicate key) reaches only its own caller, as SQLAlchemy raises it. When
    the connection is lost, what is not done yet runs again on a new one: the statement must
    be safe to repeat (an insert under a unique key is: the repeat fails as a duplicate)."""
    return await _submit(engine, _run_postgres, (sql, key_columns), (args, key))


async def _run_postgres(
    engine: AsyncEngine,
    group: tuple[str, tuple[int, ...]],
    jobs: list[tuple[Sequence[Any], tuple[Any, ...]]],
    *,
    again: bool = False,
) -> list[Outcome]:
    sql, key_columns = group
    outcomes: list[Outcome] = []
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            if len(jobs) > 1:
                try:
                    rows = await driver.fetchmany(sql, [args for args, _ in jobs])
                except asyncpg.PostgresError:  # rolled back as a whole: each on its own
                    pass
                else:
                    found = {tuple(row[i] for i in key_columns): row for row in rows}
                    return [(True, found.get(key)) for _, key in jobs]
            for args, _ in jobs:
                try:
                    outcomes.append((True, await driver.fetchrow(sql, *args)))
                except asyncpg.PostgresError as exc:
                    outcomes.append((False, _postgres_error(sql, exc)))
            return outcomes
        except Exception as exc:  # the connection is gone (or in doubt): it is not reused
            await conn.invalidate()
            lost = exc
    rest = jobs[len(outcomes) :]
    if again:
        error = DBAPIError(sql, None, lost, connection_invalidated=True)
        return outcomes + [(False, error)] * len(rest)
    # Once more on a new connection (a restarted server, a proxy that closed it): what did commit
    # before the answer was lost fails the second time on its unique key, as a resend would.
    return outcomes + await _run_postgres(engine, group, rest, again=True)


def _postgres_error(sql: str, exc: Exception) -> Exception:
    """An asyncpg error as SQLAlchemy raises it (what callers catch)."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(sql, None, exc)
    return DBAPIError(sql, None, exc)


# Batches of one runner that may run at once: SQLite has one writer; on PostgreSQL the next batch
# starts on another connection while one waits for its commit (PostgreSQL orders two writes to
# the same row by its lock, and flushes concurrent commits together).
_AT_ONCE: dict[Runner, int] = {_run_sqlite: 1, _run_postgres: 4}
