"""The one error shape, API authentication, the body limit and the health check."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette

from tests.conftest import SiteTeam, create_team
from widget_server.accounts import service as accounts
from widget_server.runtime import Runtime

SHAPE_KEYS = {"status", "code", "message", "details"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == SHAPE_KEYS
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    assert response.headers["x-request-id"]
    error: dict[str, object] = body["error"]
    return error


async def test_healthz_answers_ok_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_healthz_is_503_when_the_database_is_gone(
    client: httpx.AsyncClient, state: Runtime
) -> None:
    await state.engine.dispose()
    # Nothing listens on port 1: the connection is refused at once, as when the server is down.
    state.engine = create_async_engine("postgresql+asyncpg://vitrine@127.0.0.1:1/vitrine")
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_api_without_a_key_is_401_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/site")
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer vk_not-a-real-key", "Bearer ", "Basic dXNlcjpwYXNz", "vk_without_scheme", "Bearer x"],
)
async def test_api_with_a_wrong_key_is_401(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/api/v2/site", headers={"Authorization": header})
    assert_error(response, 401, "unauthorized")


async def test_api_key_reaches_only_its_own_site(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    other = await create_team(state, prefix="b-")
    _, mine = await accounts.create_api_key(team.access(), state.engine, "backend")
    _, theirs = await accounts.create_api_key(other.access(), state.engine, "backend")
    ours = await client.get("/api/v2/site", headers={"Authorization": f"Bearer {mine}"})
    assert ours.status_code == 200
    assert ours.json()["key"] == team.site.key
    assert ours.json()["name"] == team.site.name
    assert ours.json()["allowed_origins"] == ["https://shop.example.com"]
    assert ours.json()["time_zone"] == "Europe/Paris"
    other_site = await client.get("/api/v2/site", headers={"Authorization": f"Bearer {theirs}"})
    assert other_site.json()["key"] == other.site.key


async def test_revoked_key_is_401(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    key, secret = await accounts.create_api_key(team.access(), state.engine, "old")
    assert (
        await client.get("/api/v2/site", headers={"Authorization": f"Bearer {secret}"})
    ).is_success
    await accounts.revoke_api_key(team.access(), state.engine, key.id)
    response = await client.get("/api/v2/site", headers={"Authorization": f"Bearer {secret}"})
    assert_error(response, 401, "unauthorized")


async def test_key_use_is_recorded(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    key, secret = await accounts.create_api_key(team.access(), state.engine, "used")
    assert key.last_used_at is None
    await client.get("/api/v2/site", headers={"Authorization": f"Bearer {secret}"})
    [listed] = await accounts.api_keys(team.access(), state.engine)
    assert listed.last_used_at is not None


async def test_unknown_api_path_is_json_404(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    _, secret = await accounts.create_api_key(team.access(), state.engine, "k")
    response = await client.get(
        "/api/v2/nothing-here", headers={"Authorization": f"Bearer {secret}"}
    )
    assert_error(response, 404, "not_found")


async def test_wrong_method_is_405_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert_error(response, 405, "method_not_allowed")


async def test_oversized_body_is_413(client: httpx.AsyncClient, app: Starlette) -> None:
    limit = app.state.runtime.settings.max_body_bytes
    response = await client.post(
        "/api/v2/site",
        content=b"x" * (limit + 1),
        headers={"Authorization": "Bearer vk_x", "Content-Type": "application/json"},
    )
    assert_error(response, 413, "payload_too_large")


async def test_oversized_streamed_body_is_413(
    client: httpx.AsyncClient, app: Starlette, state: Runtime, team: SiteTeam
) -> None:
    """A body sent without Content-Length is counted as it arrives."""
    _, secret = await accounts.create_api_key(team.access(), state.engine, "k")
    limit = app.state.runtime.settings.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    response = await client.post(
        "/api/v2/webhook_endpoints",
        content=chunks(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


async def test_pages_render_errors_as_html(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "404" in response.text


async def test_request_id_is_echoed_when_sane(client: httpx.AsyncClient) -> None:
    sane = await client.get("/healthz", headers={"X-Request-Id": "abc12345-trace"})
    assert sane.headers["x-request-id"] == "abc12345-trace"
    odd = await client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert odd.headers["x-request-id"].startswith("req_")
