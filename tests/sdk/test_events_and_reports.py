"""client.events.track and client.reports.sources: what they send (scripted network), and the
round trip against the real app (AsyncClient in-process, Client against a live server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import httpx
import pytest
import vitrine_sdk
from sqlalchemy import insert, select
from starlette.applications import Starlette

from tests.conftest import LiveServer, create_team, seed
from tests.reports.conftest import EXPECTED, PERIOD, TOTALS, seed_reports
from tests.sdk.test_against_app import async_client
from widget_server.accounts import service as accounts
from widget_server.counter import service as counter
from widget_server.counter.tables import events, visit_numbers
from widget_server.runtime import Runtime

SDKFactory = Callable[..., Any]  # the `sdk` fixture from conftest.py
REPORT = {
    "from": "2024-03-25",
    "to": "2024-03-31",
    "time_zone": "Europe/Paris",
    "group_by": "campaign",
    "rows": [
        {
            "key": "spring",
            "visits": 2,
            "visitors": 2,
            "pageviews": 4,
            "events": 4,
            "conversions": 2,
            "conversion_rate": 1.0,
            "orders": 3,
        },  # unknown fields are ignored
    ],
    "totals": {
        "visits": 2,
        "visitors": 2,
        "pageviews": 4,
        "events": 4,
        "conversions": 2,
        "conversion_rate": 1,
    },
}


def numbers(row: vitrine_sdk.SourcesRow | vitrine_sdk.SourcesTotals) -> tuple[object, ...]:
    return (
        row.visits,
        row.visitors,
        row.pageviews,
        row.events,
        row.conversions,
        row.conversion_rate,
    )


# --- what the SDK sends ----------------------------------------------------------------------


async def test_track_posts_the_event_and_returns_none(sdk: SDKFactory) -> None:
    client = sdk(
        httpx.Response(202, json={"status": "accepted"}),
        httpx.Response(202, json={"status": "accepted"}),
    )
    assert (
        await client.call(
            lambda c: c.events.track("order.paid", {"total": 42.5, "vip": True}, visit=1234)
        )
        is None
    )
    assert await client.call(lambda c: c.events.track("signup", idempotency_key="k-1")) is None
    first, second = client.requests
    assert (first.method, first.url.path) == ("POST", "/api/v2/events")
    assert json.loads(first.content) == {
        "name": "order.paid",
        "props": {"total": 42.5, "vip": True},
        "visit": 1234,
    }
    assert first.headers["idempotency-key"]  # generated, so a retry cannot record it twice
    assert json.loads(second.content) == {"name": "signup"}
    assert second.headers["idempotency-key"] == "k-1"


async def test_track_errors_raise(sdk: SDKFactory) -> None:
    body = {
        "error": {
            "status": 422,
            "code": "invalid_request",
            "message": "Unknown visit number.",
            "details": [{"field": "visit", "code": "unknown_visit", "message": "x"}],
        }
    }
    client = sdk(httpx.Response(422, json=body))
    with pytest.raises(vitrine_sdk.UnprocessableEntityError) as caught:
        await client.call(lambda c: c.events.track("signup", visit=1))
    assert caught.value.details[0]["field"] == "visit"


async def test_sources_sends_dates_and_parses_the_report(sdk: SDKFactory) -> None:
    client = sdk(httpx.Response(200, json=REPORT), httpx.Response(200, json=REPORT))
    report = await client.call(
        lambda c: c.reports.sources(date(2024, 3, 25), "2024-03-31", group_by="campaign")
    )
    assert report == vitrine_sdk.SourcesReport(
        from_=date(2024, 3, 25),
        to=date(2024, 3, 31),
        time_zone="Europe/Paris",
        group_by="campaign",
        rows=[vitrine_sdk.SourcesRow("spring", 2, 2, 4, 4, 2, 1.0)],
        totals=vitrine_sdk.SourcesTotals(2, 2, 4, 4, 2, 1.0),
    )
    await client.call(lambda c: c.reports.sources())
    first, second = client.requests
    assert first.url.path == "/api/v2/reports/sources"
    assert dict(first.url.params) == {
        "from": "2024-03-25",
        "to": "2024-03-31",
        "group_by": "campaign",
    }
    assert dict(second.url.params) == {"group_by": "channel"}  # the server picks the period


async def test_sources_refuses_a_datetime(sdk: SDKFactory) -> None:
    client = sdk()
    with pytest.raises(TypeError, match="not a datetime"):
        await client.call(lambda c: c.reports.sources(datetime(2024, 3, 25, 12)))
    assert client.requests == []


async def test_a_malformed_report_raises_vitrine_error(sdk: SDKFactory) -> None:
    client = sdk(httpx.Response(200, json={**REPORT, "from": "25/03/2024"}))
    with pytest.raises(vitrine_sdk.VitrineError, match="'from'"):
        await client.call(lambda c: c.reports.sources())


# --- against the real app --------------------------------------------------------------------


async def test_async_reports_sources_against_the_app(app: Starlette, state: Runtime) -> None:
    seeded = await seed_reports(state, await create_team(state))
    _, secret = await accounts.create_api_key(seeded.team.access(), state.engine, "sdk")
    async with async_client(app, secret) as client:
        for group_by, expected in EXPECTED.items():
            report = await client.reports.sources(PERIOD["from"], date(2024, 3, 31), group_by)
            assert (report.from_, report.to, report.time_zone, report.group_by) == (
                date(2024, 3, 25),
                date(2024, 3, 31),
                "Europe/Paris",
                group_by,
            )
            assert [(row.key, numbers(row)) for row in report.rows] == expected
            assert numbers(report.totals) == TOTALS
        with pytest.raises(vitrine_sdk.UnprocessableEntityError) as caught:
            await client.reports.sources("2024-03-31", "2024-03-01")
        assert [detail["field"] for detail in caught.value.details] == ["to"]


def has_events_endpoint(app: Starlette) -> bool:
    return any(getattr(route, "path", None) == "/api/v2/events" for route in app.routes)


async def test_async_events_track_against_the_app(app: Starlette, state: Runtime) -> None:
    if not has_events_endpoint(app):
        pytest.skip("waits for POST /api/v2/events (the ingestion work)")
    seeded = await seed_reports(state, await create_team(state))
    async with state.engine.begin() as conn:  # the visits were seeded, not handed out
        await conn.execute(
            insert(visit_numbers).values(site_id=seeded.team.site.id, next_number=2000)
        )
    _, secret = await accounts.create_api_key(seeded.team.access(), state.engine, "sdk")
    async with async_client(app, secret) as client:
        # Visit 1006 (direct, no events yet) converts when the backend reports a purchase.
        assert await client.events.track("purchase", {"total": 1990}, visit=1006) is None
        await client.events.track("newsletter.opened")
        await counter.flush(state)  # what the write buffer does every second in production
        report = await client.reports.sources(PERIOD["from"], PERIOD["to"])
        direct = next(row for row in report.rows if row.key == "direct")
        assert numbers(direct) == (1, 1, 1, 1, 1, 1.0)
        with pytest.raises(vitrine_sdk.UnprocessableEntityError):
            await client.events.track("", visit=1006)
    async with state.engine.connect() as conn:
        stored = (
            await conn.execute(
                select(events.c.name, events.c.visit_number, events.c.props, events.c.origin)
                .where(events.c.site_id == seeded.team.site.id, events.c.origin == "server")
                .order_by(events.c.id)
            )
        ).all()
    assert [tuple(row) for row in stored][-2:] == [
        ("purchase", 1006, {"total": 1990}, "server"),
        ("newsletter.opened", None, {}, "server"),
    ]


def test_sync_client_against_a_live_server(live_server: LiveServer) -> None:
    async def make(state: Runtime) -> str:
        seeded = await seed_reports(state, await create_team(state))
        _, secret = await accounts.create_api_key(seeded.team.access(), state.engine, "sync")
        async with state.engine.begin() as conn:
            await conn.execute(
                insert(visit_numbers).values(site_id=seeded.team.site.id, next_number=2000)
            )
        return secret

    secret = seed(live_server, make)
    with vitrine_sdk.Client(secret, base_url=live_server.url) as client:
        report = client.reports.sources(date(2024, 3, 25), date(2024, 3, 31), "landing")
        assert [(row.key, numbers(row)) for row in report.rows] == EXPECTED["landing"]
        if not has_events_endpoint(live_server.app):
            pytest.skip("events.track waits for POST /api/v2/events (the ingestion work)")
        assert client.events.track("signup", {"plan": "pro"}, visit=1003) is None
    # The server's write buffer holds it until its next flush (jobs are off in tests).
    state = live_server.app.state.runtime
    assert [(e["name"], e["visit_number"], e["props"]) for e in state.counter.buffer.events] == [
        ("signup", 1003, {"plan": "pro"})
    ]
