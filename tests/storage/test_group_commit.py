"""SQLite's group commit (``db/group_commit.py``): writes queued together share one
transaction, each fails alone, a failed COMMIT writes nothing, and prepared statements convert
values as SQLAlchemy does. PostgreSQL's is tested through its one user, a chat message
(tests/chat/test_statements.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.db import group_commit
from widget_server.db.engine import create_engine
from widget_server.db.group_commit import Prepared
from widget_server.db.metadata import UTCDateTime


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (n INTEGER UNIQUE)"))
    try:
        yield engine
    finally:
        await engine.dispose()


async def traced(engine: AsyncEngine) -> list[str]:
    """Every statement SQLite runs from now on, on the connection the next writes use (the pool
    holds one idle connection after the fixture's write)."""
    seen: list[str] = []
    await group_commit.run(engine, lambda db: db.set_trace_callback(seen.append))
    seen.clear()  # the end of that write's own transaction
    return seen


def insert_n(n: int) -> Any:
    return lambda db: db.execute("INSERT INTO t (n) VALUES (?)", (n,)).lastrowid


async def numbers(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT n FROM t ORDER BY n"))).scalars())


async def test_writes_queued_together_share_one_commit_and_fail_alone(engine: AsyncEngine) -> None:
    seen = await traced(engine)
    values = [n if n not in (7, 19) else 3 for n in range(30)]  # two duplicates of 3
    results = await asyncio.gather(
        *(group_commit.run(engine, insert_n(n)) for n in values), return_exceptions=True
    )
    failed = [n for n, result in enumerate(results) if isinstance(result, Exception)]
    assert failed == [7, 19]
    assert all(isinstance(results[n], IntegrityError) for n in failed)  # as SQLAlchemy raises
    assert isinstance(results[7].orig, sqlite3.IntegrityError)  # type: ignore[union-attr]
    assert await numbers(engine) == [n for n in range(30) if n not in (7, 19)]
    assert seen.count("BEGIN IMMEDIATE") == seen.count("COMMIT") == 1
    assert seen.count("ROLLBACK TO vitrine_work") == 2


async def test_a_write_alone_goes_at_once_and_the_next_one_too(engine: AsyncEngine) -> None:
    seen = await traced(engine)
    assert await group_commit.run(engine, insert_n(1)) == 1
    assert await group_commit.run(engine, insert_n(2)) == 2
    assert seen.count("COMMIT") == 2
    assert await numbers(engine) == [1, 2]


async def test_a_failed_commit_writes_nothing_of_its_batch(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await conn.execute(
            text(
                "CREATE TABLE child (parent INTEGER REFERENCES parent (id)"
                " DEFERRABLE INITIALLY DEFERRED)"
            )
        )

    def orphan(db: sqlite3.Connection) -> None:  # fine until the COMMIT checks the reference
        db.execute("INSERT INTO child (parent) VALUES (42)")

    results = await asyncio.gather(
        group_commit.run(engine, insert_n(1)),
        group_commit.run(engine, orphan),
        group_commit.run(engine, insert_n(2)),
        return_exceptions=True,
    )
    assert all(isinstance(result, IntegrityError) for result in results)
    assert await numbers(engine) == []
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM child"))).scalar() == 0
    assert await group_commit.run(engine, insert_n(5)) == 1  # the connection is usable again
    assert await numbers(engine) == [5]


async def test_a_write_cancelled_before_its_batch_is_not_made(engine: AsyncEngine) -> None:
    first = asyncio.ensure_future(group_commit.run(engine, insert_n(1)))
    second = asyncio.ensure_future(group_commit.run(engine, insert_n(2)))
    await asyncio.sleep(0)  # both queued, the batch not started
    second.cancel()
    assert await first == 1
    with pytest.raises(asyncio.CancelledError):
        await second
    assert await numbers(engine) == [1]


async def test_writes_wait_for_a_transaction_in_progress(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (n) VALUES (1)"))
        queued = asyncio.ensure_future(group_commit.run(engine, insert_n(1)))
        await asyncio.sleep(0.05)
        assert not queued.done()  # behind the write lock, not failing on SQLite's
    with pytest.raises(IntegrityError):
        await queued


async def test_prepared_statements_convert_values_as_sqlalchemy_does(engine: AsyncEngine) -> None:
    table = Table(
        "typed",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime, nullable=False),
        Column("data", JSON, nullable=False),
        Column("flag", Boolean, nullable=False),
    )
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
    at = datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=UTC)
    values = {"at": at, "data": {"a": [1, "é"]}, "flag": True}
    put = Prepared(insert(table), engine.dialect, column_keys=list(values))
    read = Prepared(select(table).where(table.c.id == 1), engine.dialect, returns=table.c)

    def work(db: sqlite3.Connection) -> Any:
        db.execute(put.sql, put.parameters(values))
        return db.execute(read.sql, read.parameters({})).fetchone()

    raw = await group_commit.run(engine, work)
    assert read.row(raw) == {"id": 1, **values}
    async with engine.connect() as conn:  # what SQLAlchemy reads back is the same
        assert dict((await conn.execute(select(table))).one()._mapping) == {"id": 1, **values}
    with pytest.raises(ValueError):  # psycopg's %(name)s parameters: not ours
        Prepared(insert(table), postgresql.dialect())
