"""PostgreSQL connections that die while idle in the pool (a restarted server, a proxy's idle
timeout): replaced before use without a ping at every checkout (``db/engine.py``), and a group
commit that meets one runs again on a new one (``db/group_commit.py``)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import POSTGRES_URL, _pg_url_for, _postgres_admin_dsn
from widget_server.db import engine as engines
from widget_server.db import group_commit

pytestmark = pytest.mark.postgres


@pytest.fixture
def url() -> str:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL suite: VITRINE_TEST_POSTGRES_URL is not set")
    return _pg_url_for(POSTGRES_URL.rsplit("/", 1)[1])


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def kill(pid: int) -> None:
    admin = await asyncpg.connect(_postgres_admin_dsn())
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_connection_killed_while_idle_is_replaced_before_use(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = engines.create_engine(url, pool_size=1, max_overflow=0)
    try:
        first = await backend_pid(engine)
        assert await backend_pid(engine) == first  # the pool keeps it
        await kill(first)
        monkeypatch.setattr(engines, "PING_AFTER_IDLE", 0.0)  # it has been idle long enough
        second = await backend_pid(engine)
        assert second != first
    finally:
        await engine.dispose()


async def test_a_connection_back_a_moment_ago_is_not_pinged(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the trade: no ping within ``PING_AFTER_IDLE`` (so a connection killed
    that recently fails its next use once, and the pool is renewed)."""
    engine = engines.create_engine(url, pool_size=1, max_overflow=0)
    try:
        first = await backend_pid(engine)
        await kill(first)
        with pytest.raises(DBAPIError) as failed:
            await backend_pid(engine)
        assert failed.value.connection_invalidated
        assert await backend_pid(engine) != first
    finally:
        await engine.dispose()


async def test_a_group_commit_on_a_connection_that_died_runs_again_on_a_new_one(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engines, "PING_AFTER_IDLE", 3600.0)  # no ping: the batch meets it dead
    engine = engines.create_engine(url, pool_size=1, max_overflow=0)
    table = f"vt_lost_{secrets.token_hex(4)}"
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {table} (n INTEGER UNIQUE)"))
        await kill(await backend_pid(engine))
        sql = f"INSERT INTO {table} (n) VALUES ($1) RETURNING n"
        rows = await asyncio.gather(
            *(group_commit.fetch_row(engine, sql, [n], key=(n,), key_columns=(0,)) for n in (1, 2))
        )
        assert [row[0] for row in rows] == [1, 2]
        async with engine.connect() as conn:
            stored = (await conn.execute(text(f"SELECT n FROM {table} ORDER BY n"))).scalars()
            assert list(stored) == [1, 2]
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await engine.dispose()


async def test_a_read_is_one_round_trip_and_a_write_a_transaction(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``engine.connect()`` reads without BEGIN and ROLLBACK around the query (asyncpg in
    autocommit); ``engine.begin()`` is still all or nothing, on the same pool."""
    engine = engines.create_engine(url, pool_size=1, max_overflow=0)
    table = f"t_{secrets.token_hex(4)}"
    sent: list[str] = []
    prepare, simple = asyncpg.Connection._get_statement, asyncpg.Connection.execute

    async def spy_prepare(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
        sent.append(query)  # every statement with parameters, or prepared, passes here
        return await prepare(self, query, *args, **kw)

    async def spy_simple(self: asyncpg.Connection, query: str, *args: Any) -> Any:
        if not args:  # BEGIN, ROLLBACK … (with arguments it goes through _get_statement)
            sent.append(query)
        return await simple(self, query, *args)

    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE TABLE {table} (n int PRIMARY KEY)"))
        monkeypatch.setattr(asyncpg.Connection, "_get_statement", spy_prepare)
        monkeypatch.setattr(asyncpg.Connection, "execute", spy_simple)
        async with engine.connect() as conn:
            assert (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 0
        assert sent == [f"SELECT count(*) FROM {table}"]
        sent.clear()
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await conn.execute(text(f"INSERT INTO {table} VALUES (1)"))
                raise RuntimeError("half-way")
        assert [query.split()[0].rstrip(";") for query in sent] == ["BEGIN", "INSERT", "ROLLBACK"]
        async with engine.begin() as conn:
            await conn.execute(text(f"INSERT INTO {table} VALUES (2)"))
        async with engine.connect() as conn:
            assert (await conn.execute(text(f"SELECT n FROM {table}"))).scalars().all() == [2]
    finally:
        monkeypatch.undo()
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await engine.dispose()
