"""GET /api/v2/reports/sources: its shape, exact numbers, authentication, site scoping, 422s."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import SiteTeam
from tests.reports.conftest import EXPECTED, PERIOD, TOTALS, Seeded
from widget_server.accounts import service as accounts
from widget_server.runtime import Runtime

FIELDS = ("visits", "visitors", "pageviews", "events", "conversions", "conversion_rate")


async def bearer(state: Runtime, team: SiteTeam) -> dict[str, str]:
    _, secret = await accounts.create_api_key(team.access(), state.engine, "reports")
    return {"Authorization": f"Bearer {secret}"}


def as_tuples(rows: list[dict[str, object]]) -> list[tuple[object, tuple[object, ...]]]:
    return [(row["key"], tuple(row[name] for name in FIELDS)) for row in rows]


@pytest.mark.parametrize("group_by", sorted(EXPECTED))
async def test_the_report_in_json(
    client: httpx.AsyncClient, state: Runtime, seeded: Seeded, group_by: str
) -> None:
    response = await client.get(
        "/api/v2/reports/sources",
        params={**PERIOD, "group_by": group_by},
        headers=await bearer(state, seeded.team),
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == {"from", "to", "time_zone", "group_by", "rows", "totals"}
    assert (data["from"], data["to"], data["time_zone"], data["group_by"]) == (
        "2024-03-25",
        "2024-03-31",
        "Europe/Paris",
        group_by,
    )
    assert as_tuples(data["rows"]) == EXPECTED[group_by]
    assert all(set(row) == {"key", *FIELDS, "paid_orders", "revenue"} for row in data["rows"])
    assert set(data["totals"]) == {*FIELDS, "paid_orders", "revenue"}
    assert tuple(data["totals"][name] for name in FIELDS) == TOTALS
    # No orders in this data (see test_orders.py): none paid, no revenue in any currency.
    assert {(row["paid_orders"], str(row["revenue"])) for row in data["rows"]} == {(0, "{}")}


async def test_defaults_are_the_last_30_local_days_by_channel(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    response = await client.get("/api/v2/reports/sources", headers=await bearer(state, team))
    assert response.status_code == 200
    data = response.json()
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    assert (data["from"], data["to"], data["group_by"]) == (
        (today - timedelta(days=29)).isoformat(),
        today.isoformat(),
        "channel",
    )
    assert data["rows"] == []
    assert data["totals"] == dict.fromkeys(FIELDS, 0) | {
        "conversion_rate": 0.0,
        "paid_orders": 0,
        "revenue": {},
    }


async def test_a_key_sees_only_its_own_site(
    client: httpx.AsyncClient, state: Runtime, seeded: Seeded
) -> None:
    response = await client.get(
        "/api/v2/reports/sources",
        params={**PERIOD, "group_by": "campaign"},
        headers=await bearer(state, seeded.other),
    )
    assert response.status_code == 200
    assert as_tuples(response.json()["rows"]) == [("spring", (3, 1, 30, 6, 3, 1.0))]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer vk_unknown"}, {"Authorization": "Basic abc"}],
)
async def test_without_a_valid_key_401(
    client: httpx.AsyncClient, seeded: Seeded, headers: dict[str, str]
) -> None:
    response = await client.get("/api/v2/reports/sources", params=PERIOD, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"from": "2024-02-30"}, ["from"]),
        ({"from": "2024-03-31", "to": "2024-03-01"}, ["to"]),
        ({"from": "2023-01-01", "to": "2024-03-01"}, ["to"]),
        ({"group_by": "browser"}, ["group_by"]),
        ({"from": "x", "to": "y", "group_by": "z"}, ["from", "group_by", "to"]),
    ],
)
async def test_bad_parameters_422_with_details(
    client: httpx.AsyncClient,
    state: Runtime,
    team: SiteTeam,
    params: dict[str, str],
    fields: list[str],
) -> None:
    response = await client.get(
        "/api/v2/reports/sources", params=params, headers=await bearer(state, team)
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert sorted(detail["field"] for detail in error["details"]) == fields
    assert error["message"] == error["details"][0]["message"]
