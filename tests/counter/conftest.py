"""The counter suite: storage-touching tests run on SQLite and, when configured, on PostgreSQL.

``counter.js`` here is a stand-in build (in the test's tmp dir) with the config placeholder, so
these tests do not depend on the browser engineer's build; tests/js tests the real one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import SiteTeam
from widget_server.counter import service
from widget_server.counter.tables import events, pageviews, visit_numbers, visits
from widget_server.runtime import Runtime

ORIGIN = "https://shop.example.com"
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
VISITOR = "visitor-0001"
STAND_IN = 'window.__vitrine_config = "__VITRINE_CONFIG__";\n/* a stand-in for counter.js */\n'


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


@pytest.fixture(autouse=True)
def stand_in_script(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Point the app (when the test has one) at a stand-in build in the tmp dir."""
    path = tmp_path / "dist" / "counter.js"
    path.parent.mkdir()
    path.write_text(STAND_IN)
    if "state" in request.fixturenames:
        state: Runtime = request.getfixturevalue("state")
        state.counter.scripts.source = path
    return path


def baked_config(script: str) -> dict[str, Any]:
    match = re.search(r"window\.__vitrine_config = (\{.*?\});", script)
    assert match, script
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def pageview(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"t": "p", "u": f"{ORIGIN}/", "i": VISITOR}
    body.update(fields)
    return body


async def send(
    client: httpx.AsyncClient,
    team: SiteTeam,
    body: dict[str, Any] | bytes | str,
    *,
    origin: str | None = ORIGIN,
    user_agent: str = BROWSER,
    key: str | None = None,
) -> httpx.Response:
    """A hit as the script sends it: text/plain, the page's Origin."""
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": user_agent}
    if origin is not None:
        headers["Origin"] = origin
    return await client.post(f"/t/{key or team.site.key}", content=content, headers=headers)


async def snapshot(state: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every counter row, after a flush: to show a refused hit changed nothing."""
    await service.flush(state)
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with state.engine.connect() as conn:
        for table in (visits, pageviews, events, visit_numbers):
            rows = await conn.execute(select(table))
            found[table.name] = sorted(tuple(row) for row in rows)
    return found


async def count(state: Runtime, table: Any) -> int:
    async with state.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def rows(state: Runtime, table: Any) -> list[Any]:
    async with state.engine.connect() as conn:
        return list(await conn.execute(select(table).order_by(table.c.id)))
