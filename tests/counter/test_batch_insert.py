"""The batch writer stores exactly what SQLAlchemy's own insert would, on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Table, delete, insert, select

from tests.conftest import SiteTeam
from widget_server.counter import store
from widget_server.counter.tables import events, pageviews, visits
from widget_server.runtime import Runtime

WHEN = datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC)


def _visit(site_id: int, number: int) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "number": number,
        "visitor_id": "visitor-0001",
        # An offset that is not UTC: both writers must store the same UTC instant.
        "started_at": WHEN.astimezone(timezone(timedelta(hours=-5))),
        "landing_url": "https://shop.example.com/?utm_source=Ünïcode&utm_campaign=осень",
        "landing_path": "/",
        "referrer": "",
        "referrer_domain": "",
        "utm_source": "Ünïcode",
        "utm_medium": "cpc",
        "utm_campaign": "осень",
        "utm_term": "",
        "utm_content": "",
        "click_id_kind": "gclid",
        "click_id": "abc",
        "channel": "ads",
        "device": "mobile",
    }


def _event(site_id: int, number: int) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "visit_number": number,
        "visitor_id": "visitor-0001",
        "name": "Signup",
        "props": {"plan": "pro", "seats": 3, "trial": True, "price": 9.5, "note": "«ок»"},
        "origin": "browser",
        "at": WHEN,
    }


def _pageview(site_id: int, number: int) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "visit_number": number,
        "visitor_id": "visitor-0001",
        "url": "https://shop.example.com/a",
        "path": "/a",
        "at": WHEN + timedelta(microseconds=1),
    }


async def _stored(state: Runtime, table: Table) -> list[dict[str, Any]]:
    async with state.engine.connect() as conn:
        rows = (await conn.execute(select(table).order_by(table.c.id))).mappings().all()
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


async def test_batch_rows_read_back_like_sqlalchemy_inserts(state: Runtime, team: SiteTeam) -> None:
    site = team.site.id
    async with state.engine.begin() as conn:
        await store.insert_hits(conn, [_visit(site, 1000)], [_pageview(site, 1000)],
                                [_event(site, 1000)])  # fmt: skip
    batch = {t.name: await _stored(state, t) for t in (visits, pageviews, events)}
    async with state.engine.begin() as conn:
        for table in (events, pageviews, visits):
            await conn.execute(delete(table))
        await conn.execute(insert(visits), [_visit(site, 1000)])
        await conn.execute(insert(pageviews), [_pageview(site, 1000)])
        await conn.execute(insert(events), [_event(site, 1000)])
    reference = {t.name: await _stored(state, t) for t in (visits, pageviews, events)}
    assert batch == reference
    assert batch["visits"][0]["started_at"] == WHEN
    assert batch["events"][0]["props"]["note"] == "«ок»"


async def test_a_large_batch_is_written_whole(state: Runtime, team: SiteTeam) -> None:
    """More rows than one SQLite statement may carry are split, and none is lost."""
    site = team.site.id
    numbers = range(1000, 1000 + 2 * store.INSERT_CHUNK + 7)
    async with state.engine.begin() as conn:
        await store.insert_hits(
            conn,
            [_visit(site, n) for n in numbers],
            [_pageview(site, n) for n in numbers],
            [_event(site, n) for n in numbers],
        )
    for table in (visits, pageviews, events):
        assert len(await _stored(state, table)) == len(numbers)
