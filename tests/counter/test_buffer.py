"""The write buffer: nothing per request, batches by time and size, kept on database failure,
written out at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from tests.conftest import SiteTeam, create_team
from tests.counter.conftest import count, pageview, send
from widget_server.app import create_app
from widget_server.counter import service
from widget_server.counter.tables import events, pageviews, visits
from widget_server.db.engine import create_engine
from widget_server.runtime import Runtime
from widget_server.settings import Settings


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield app.state.runtime, http


async def stored(database_url: str) -> dict[str, int]:
    """Row counts read on an engine of the test's own, after the app is gone."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            counts = {}
            for table in (visits, pageviews, events):
                query = select(func.count()).select_from(table)
                counts[table.name] = (await conn.execute(query)).scalar_one()
            return counts
    finally:
        await engine.dispose()


async def test_shutdown_writes_what_is_buffered(settings: Settings) -> None:
    app = create_app(settings)
    async with running(app) as (state, http):
        team = await create_team(state)
        first = (await send(http, team, pageview())).json()["v"]
        for page in range(5):
            await send(http, team, pageview(u=f"https://shop.example.com/{page}", v=first))
        await send(http, team, pageview(t="e", n="Signup", v=first))
        assert len(state.counter.buffer) == 8
        assert (await stored(settings.database_url))["pageviews"] == 0
    assert await stored(settings.database_url) == {"visits": 1, "pageviews": 6, "events": 1}


async def test_the_flusher_writes_every_second(settings: Settings) -> None:
    app = create_app(replace(settings, run_jobs=True))
    async with running(app) as (state, http):
        team = await create_team(state)
        await send(http, team, pageview())
        for _ in range(60):
            if await count(state, pageviews):
                break
            await asyncio.sleep(0.05)
        assert await count(state, visits) == await count(state, pageviews) == 1


async def test_the_flusher_writes_at_once_when_a_batch_is_full(settings: Settings) -> None:
    app = create_app(replace(settings, run_jobs=True))
    buffer = app.state.runtime.counter.buffer
    buffer.interval, buffer.batch_size = 3600.0, 4
    async with running(app) as (state, http):
        team = await create_team(state)
        await send(http, team, pageview())
        await asyncio.sleep(0.3)
        assert await count(state, pageviews) == 0  # 2 rows: below the batch size
        await send(http, team, pageview())
        for _ in range(60):
            if await count(state, pageviews) == 2:
                break
            await asyncio.sleep(0.05)
        assert await count(state, visits) == await count(state, pageviews) == 2


async def test_a_failed_flush_keeps_the_rows(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam, caplog: pytest.LogCaptureFixture
) -> None:
    await send(client, team, pageview())
    await send(client, team, pageview(t="e", n="Signup"))
    working = state.engine
    state.engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/nothing")
    try:
        with caplog.at_level(logging.ERROR):
            assert await service.flush(state) == 0
        assert "4 buffered rows not written" in caplog.text
        assert len(state.counter.buffer) == 4
        await send(client, team, pageview(i="visitor-0002"))  # ingestion goes on meanwhile
    finally:
        await state.engine.dispose()
        state.engine = working
    assert await service.flush(state) == 6
    assert len(state.counter.buffer) == 0
    assert (await count(state, visits), await count(state, pageviews)) == (3, 2)
    assert await count(state, events) == 1


async def test_rows_of_a_deleted_site_do_not_block_the_others(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    await send(client, team, pageview())
    gone: dict[str, Any] = {
        "site_id": team.site.id + 1000,
        "visit_number": 1000,
        "visitor_id": "visitor-9999",
        "url": "https://gone.example.com/",
        "path": "/",
        "at": state.counter.buffer.pageviews[0]["at"],
    }
    state.counter.buffer.add(pageview=gone)
    assert await service.flush(state) == 0  # the foreign key refuses the batch...
    assert len(state.counter.buffer) == 2  # ...and the orphan is dropped
    assert await service.flush(state) == 2
    assert await count(state, pageviews) == 1
