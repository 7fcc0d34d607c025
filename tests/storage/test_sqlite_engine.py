"""SQLite: writes queue in the process instead of in SQLite's sleeping busy handler, reads go
beside a writer with no transaction of their own, and the WAL is checkpointed in the background
instead of inside commits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.util import await_

from widget_server.db.engine import AUTOCHECKPOINT_PAGES, checkpoint, create_engine


async def test_a_read_goes_on_while_a_write_transaction_is_open(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.begin() as writer:
            await writer.execute(text("INSERT INTO t VALUES (2)"))
            async with engine.connect() as reader:  # would wait 30 s if reads took the lock
                seen = (await reader.execute(text("SELECT count(*) FROM t"))).scalar()
            assert seen == 1  # the write is not committed yet
        async with engine.connect() as reader:
            assert (await reader.execute(text("SELECT count(*) FROM t"))).scalar() == 2
    finally:
        await engine.dispose()


async def test_concurrent_writes_all_commit(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))

        async def write(n: int) -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                await asyncio.sleep(0)  # let the others queue up behind this one

        await asyncio.gather(*(write(n) for n in range(50)))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 50
    finally:
        await engine.dispose()


async def test_the_wal_is_checkpointed_in_the_background_not_in_commits(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER, s TEXT)"))
            await conn.execute(
                text("INSERT INTO t VALUES (:n, :s)"),
                [{"n": n, "s": "x" * 500} for n in range(500)],
            )
        async with engine.connect() as conn:
            pages = (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar()
        assert pages == AUTOCHECKPOINT_PAGES
        found = await checkpoint(engine)
        assert found is not None
        frames, copied = found
        assert frames > 0 and copied == frames  # everything written is now in the database
    finally:
        await engine.dispose()


async def test_a_read_is_one_trip_and_a_write_a_transaction(tmp_path: Path) -> None:
    """``engine.connect()`` reads without BEGIN and ROLLBACK around the query, each a trip to
    aiosqlite's thread; ``engine.begin()`` is still all or nothing."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    seen: list[str] = []

    def on_connect(_dbapi_connection: Any, record: Any) -> None:
        trace = record.driver_connection.run(lambda db: db.set_trace_callback(seen.append))
        await_(trace)

    event.listen(engine.sync_engine, "connect", on_connect)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
        seen.clear()
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
        assert seen == ["SELECT count(*) FROM t"]
        seen.clear()
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))
                raise RuntimeError("half-way")
        assert seen == ["BEGIN IMMEDIATE", "INSERT INTO t VALUES (1)", "ROLLBACK"]
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t VALUES (2)"))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT n FROM t"))).scalars().all() == [2]
    finally:
        await engine.dispose()
