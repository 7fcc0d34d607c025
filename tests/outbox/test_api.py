"""/api/v2/webhook_endpoints: site-scoped CRUD with a secret key, in the one error shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.conftest import SiteTeam, create_team
from widget_server.accounts import service as accounts
from widget_server.runtime import Runtime

URL = "/api/v2/webhook_endpoints"


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"status", "code", "message", "details"}
    assert (body["error"]["status"], body["error"]["code"]) == (status, code)
    error: dict[str, Any] = body["error"]
    return error


@pytest.fixture
async def key(state: Runtime, team: SiteTeam) -> dict[str, str]:
    _, secret = await accounts.create_api_key(team.access(), state.engine, "Backend")
    return {"Authorization": f"Bearer {secret}"}


async def test_create_list_get_delete(client: httpx.AsyncClient, key: dict[str, str]) -> None:
    response = await client.post(
        URL,
        json={
            "url": "https://shop.example.com/hooks",
            "event_types": ["ping"],
            "description": "Shop backend",
        },
        headers=key,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert {k: created[k] for k in ("url", "event_types", "description", "is_active")} == {
        "url": "https://shop.example.com/hooks",
        "event_types": ["ping"],
        "description": "Shop backend",
        "is_active": True,
    }
    assert datetime.fromisoformat(created["created_at"]).tzinfo is not None
    shown = {k: v for k, v in created.items() if k != "secret"}

    listed = await client.get(URL, headers=key)
    assert listed.status_code == 200
    assert listed.json() == {"data": [shown]}  # the secret is never shown again

    got = await client.get(f"{URL}/{created['id']}", headers=key)
    assert (got.status_code, got.json()) == (200, shown)

    deleted = await client.delete(f"{URL}/{created['id']}", headers=key)
    assert (deleted.status_code, deleted.content) == (204, b"")
    error_of(await client.get(f"{URL}/{created['id']}", headers=key), 404, "not_found")
    error_of(await client.delete(f"{URL}/{created['id']}", headers=key), 404, "not_found")
    assert (await client.get(URL, headers=key)).json() == {"data": []}


async def test_defaults_every_event_and_no_description(
    client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    response = await client.post(URL, json={"url": "http://10.0.0.5:8080/in"}, headers=key)
    assert response.status_code == 201, response.text
    assert (response.json()["event_types"], response.json()["description"]) == ([], "")


async def test_a_retried_create_with_the_same_idempotency_key_creates_one(
    client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    headers = {**key, "Idempotency-Key": "create-hook-1"}
    first = await client.post(URL, json={"url": "https://a.example/h"}, headers=headers)
    again = await client.post(URL, json={"url": "https://a.example/h"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert len((await client.get(URL, headers=key)).json()["data"]) == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_without_a_key_is_401(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, URL, json={"url": "https://a.example/h"})
    error_of(response, 401, "unauthorized")


async def test_a_revoked_key_is_401(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam, key: dict[str, str]
) -> None:
    assert (await client.get(URL, headers=key)).status_code == 200
    (api_key,) = await accounts.api_keys(team.access(), state.engine)
    await accounts.revoke_api_key(team.access(), state.engine, api_key.id)
    error_of(await client.get(URL, headers=key), 401, "unauthorized")


async def test_another_sites_key_sees_nothing(
    client: httpx.AsyncClient, state: Runtime, key: dict[str, str]
) -> None:
    created = (await client.post(URL, json={"url": "https://a.example/h"}, headers=key)).json()
    other = await create_team(state, prefix="b-")
    _, secret = await accounts.create_api_key(other.access(), state.engine, "Other")
    theirs = {"Authorization": f"Bearer {secret}"}

    error_of(await client.get(f"{URL}/{created['id']}", headers=theirs), 404, "not_found")
    error_of(await client.delete(f"{URL}/{created['id']}", headers=theirs), 404, "not_found")
    assert (await client.get(URL, headers=theirs)).json() == {"data": []}
    assert (await client.get(f"{URL}/{created['id']}", headers=key)).status_code == 200


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b'"a string"'])
async def test_a_body_that_is_not_a_json_object_is_400(
    client: httpx.AsyncClient, key: dict[str, str], body: bytes
) -> None:
    response = await client.post(
        URL, content=body, headers={**key, "Content-Type": "application/json"}
    )
    error_of(response, 400, "bad_request")


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"url"}),
        ({"url": "ftp://example.com/x"}, {"url"}),
        ({"url": "/relative/path"}, {"url"}),
        ({"url": "https://"}, {"url"}),
        ({"url": "https://a.example:99999/h"}, {"url"}),
        ({"url": "https://a.example/" + "x" * 2048}, {"url"}),
        ({"url": 42}, {"url"}),
        ({"url": "https://a.example/h", "event_types": ["order.shipped"]}, {"event_types"}),
        ({"url": "https://a.example/h", "event_types": "ping"}, {"event_types"}),
        ({"url": "https://a.example/h", "description": "x" * 256}, {"description"}),
        ({"url": "https://a.example/h", "description": ["x"]}, {"description"}),
        ({"url": "mailto:x@example.com", "event_types": ["nope"]}, {"url", "event_types"}),
    ],
)
async def test_invalid_fields_are_422_with_details(
    client: httpx.AsyncClient, key: dict[str, str], payload: dict[str, Any], fields: set[str]
) -> None:
    error = error_of(await client.post(URL, json=payload, headers=key), 422, "invalid_request")
    assert {detail["field"] for detail in error["details"]} == fields
    assert all(detail["message"] and detail["code"] for detail in error["details"])
    assert (await client.get(URL, headers=key)).json() == {"data": []}
