"""POST /api/v2/events: events from the site's backend, through the same buffer."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import SiteTeam
from tests.counter.conftest import pageview, rows, send, snapshot
from widget_server.accounts import service as accounts
from widget_server.counter import service
from widget_server.counter.tables import events
from widget_server.runtime import Runtime

URL = "/api/v2/events"


@pytest.fixture
async def bearer(state: Runtime, team: SiteTeam) -> dict[str, str]:
    _, secret = await accounts.create_api_key(team.access(), state.engine, "backend")
    return {"Authorization": f"Bearer {secret}"}


async def test_an_event_is_accepted_and_stored(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam, bearer: dict[str, str]
) -> None:
    visit = (await send(client, team, pageview())).json()["v"]
    body = {"name": "Order paid", "props": {"amount": 49.5, "currency": "EUR"}, "visit": visit}
    response = await client.post(URL, json=body, headers=bearer)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted"}
    no_visit = await client.post(URL, json={"name": "Nightly import"}, headers=bearer)
    assert no_visit.status_code == 202
    await service.flush(state)
    paid, nightly = await rows(state, events)
    assert (paid.site_id, paid.name, paid.visit_number, paid.origin) == (
        team.site.id,
        "Order paid",
        visit,
        "server",
    )
    assert paid.props == {"amount": 49.5, "currency": "EUR"}
    assert paid.visitor_id is None
    assert (nightly.visit_number, nightly.props) == (None, {})


async def test_without_a_key_it_is_401(client: httpx.AsyncClient, state: Runtime) -> None:
    before = await snapshot(state)
    response = await client.post(URL, json={"name": "x"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    wrong = await client.post(URL, json={"name": "x"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert await snapshot(state) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name"}),
        ({"name": ""}, {"name"}),
        ({"name": "x" * 121}, {"name"}),
        ({"name": "x", "props": "no"}, {"props"}),
        ({"name": "x", "props": {"k": "v" * 501}}, {"props.k"}),
        ({"name": "x", "props": {f"k{i}": 1 for i in range(31)}}, {"props"}),
        ({"name": "x", "visit": "1000"}, {"visit"}),
        ({"name": "x", "visit": 5_000_000}, {"visit"}),
    ],
)
async def test_invalid_events_are_422(
    client: httpx.AsyncClient,
    state: Runtime,
    bearer: dict[str, str],
    body: dict[str, object],
    fields: set[str],
) -> None:
    before = await snapshot(state)
    response = await client.post(URL, json=body, headers=bearer)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert {detail["field"] for detail in error["details"]} == fields
    assert await snapshot(state) == before


async def test_an_unknown_visit_number_is_named(
    client: httpx.AsyncClient, bearer: dict[str, str]
) -> None:
    response = await client.post(URL, json={"name": "x", "visit": 1000}, headers=bearer)
    assert response.status_code == 422
    (detail,) = response.json()["error"]["details"]
    assert (detail["field"], detail["code"]) == ("visit", "unknown_visit")
    assert detail["message"] == "Unknown visit number."


async def test_malformed_json_is_400(
    client: httpx.AsyncClient, state: Runtime, bearer: dict[str, str]
) -> None:
    for raw in (b"{oops", b"[]"):
        response = await client.post(
            URL, content=raw, headers={**bearer, "Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "bad_request"


async def test_a_replayed_request_is_stored_once(
    client: httpx.AsyncClient, state: Runtime, bearer: dict[str, str]
) -> None:
    headers = {**bearer, "Idempotency-Key": "evt-1"}
    first = await client.post(URL, json={"name": "Order paid"}, headers=headers)
    again = await client.post(URL, json={"name": "Order paid"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    await service.flush(state)
    assert len(await rows(state, events)) == 1
