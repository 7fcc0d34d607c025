"""The SDK against the real Vitrine app: AsyncClient in-process (httpx's ASGI transport), Client
against a real uvicorn server. No mocks: the server's own answers are what the SDK parses."""

from __future__ import annotations

import httpx
import pytest
import vitrine_sdk
from starlette.applications import Starlette

from tests.conftest import LiveServer, SiteTeam, create_team, seed
from widget_server.accounts import service as accounts
from widget_server.runtime import Runtime


def async_client(app: Starlette, secret: str, **options: object) -> vitrine_sdk.AsyncClient:
    return vitrine_sdk.AsyncClient(
        secret,
        base_url="http://testserver",
        transport=httpx.ASGITransport(app=app),
        **options,  # type: ignore[arg-type]
    )


async def test_async_client_reads_its_site(app: Starlette, state: Runtime, team: SiteTeam) -> None:
    _, secret = await accounts.create_api_key(team.access(), state.engine, "sdk")
    async with async_client(app, secret) as client:
        site = await client.site.get()
    assert site.key == team.site.key
    assert site.name == team.site.name
    assert site.allowed_origins == team.site.allowed_origins
    assert site.time_zone == "Europe/Paris"
    assert site.default_language == "en"
    assert site.created_at == team.site.created_at


async def test_revoked_key_raises_authentication_error_with_request_id(
    app: Starlette, state: Runtime, team: SiteTeam
) -> None:
    key, secret = await accounts.create_api_key(team.access(), state.engine, "sdk")
    await accounts.revoke_api_key(team.access(), state.engine, key.id)
    async with async_client(app, secret, max_retries=0) as client:
        with pytest.raises(vitrine_sdk.AuthenticationError) as caught:
            await client.site.get()
    error = caught.value
    assert error.status == 401
    assert error.code == "unauthorized"
    assert "revoked" in error.message
    assert error.request_id and error.request_id.startswith("req_")
    assert error.request_id in str(error)


def test_sync_client_against_a_live_server(live_server: LiveServer) -> None:
    async def make(state: Runtime) -> tuple[str, str]:
        team = await create_team(state)
        _, secret = await accounts.create_api_key(team.access(), state.engine, "sync")
        return team.site.key, secret

    site_key, secret = seed(live_server, make)
    with vitrine_sdk.Client(secret, base_url=live_server.url) as client:
        assert client.site.get().key == site_key
    with (
        vitrine_sdk.Client("vk_wrong", base_url=live_server.url, max_retries=0) as client,
        pytest.raises(vitrine_sdk.AuthenticationError),
    ):
        client.site.get()


async def test_webhook_endpoints_round_trip(app: Starlette, state: Runtime, team: SiteTeam) -> None:
    _, secret = await accounts.create_api_key(team.access(), state.engine, "sdk")
    async with async_client(app, secret) as client:
        created = await client.webhook_endpoints.create(
            "https://hooks.example.com/vitrine", event_types=["ping"], description="CRM"
        )
        assert created.secret and created.secret.startswith("whsec_")
        listed = await client.webhook_endpoints.list()
        assert [e.id for e in listed] == [created.id]
        assert listed[0].secret is None  # shown once, at creation
        fetched = await client.webhook_endpoints.get(created.id)
        assert (fetched.url, fetched.event_types, fetched.description) == (
            "https://hooks.example.com/vitrine",
            ["ping"],
            "CRM",
        )
        await client.webhook_endpoints.delete(created.id)
        with pytest.raises(vitrine_sdk.NotFoundError):
            await client.webhook_endpoints.get(created.id)
        with pytest.raises(vitrine_sdk.UnprocessableEntityError) as caught:
            await client.webhook_endpoints.create("ftp://nope", event_types=["no.such.event"])
        assert {d["field"] for d in caught.value.details} >= {"url"}


async def test_a_repeated_create_with_one_idempotency_key_makes_one_endpoint(
    app: Starlette, state: Runtime, team: SiteTeam
) -> None:
    _, secret = await accounts.create_api_key(team.access(), state.engine, "sdk")
    async with async_client(app, secret) as client:
        first = await client.webhook_endpoints.create("https://a.example.com", idempotency_key="k1")
        again = await client.webhook_endpoints.create("https://a.example.com", idempotency_key="k1")
        assert again.id == first.id
        assert len(await client.webhook_endpoints.list()) == 1
