"""A POST repeated with the same Idempotency-Key gets the first answer and does the work once."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select, update

from tests.conftest import SiteTeam
from widget_server.accounts import service as accounts
from widget_server.api import idempotency
from widget_server.api import store as api_store
from widget_server.api.tables import idempotency_keys
from widget_server.db.metadata import utcnow
from widget_server.outbox import service as outbox
from widget_server.runtime import Runtime

URL = "/api/v2/webhook_endpoints"


async def _bearer(state: Runtime, team: SiteTeam, name: str = "k") -> dict[str, str]:
    _, secret = await accounts.create_api_key(team.access(), state.engine, name)
    return {"Authorization": f"Bearer {secret}"}


async def test_replay_returns_the_first_answer(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    headers = {**await _bearer(state, team), "Idempotency-Key": "abc-1"}
    body = {"url": "https://hooks.example.com/a"}
    first = await client.post(URL, json=body, headers=headers)
    again = await client.post(URL, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(await outbox.list_endpoints(team.access(), state.engine)) == 1


async def test_same_key_with_another_request_is_refused(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    headers = {**await _bearer(state, team), "Idempotency-Key": "abc-2"}
    await client.post(URL, json={"url": "https://hooks.example.com/a"}, headers=headers)
    other = await client.post(URL, json={"url": "https://hooks.example.com/b"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["error"]["details"][0]["code"] == "idempotency_key_reused"
    assert len(await outbox.list_endpoints(team.access(), state.engine)) == 1


async def test_client_errors_are_replayed_too(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    headers = {**await _bearer(state, team), "Idempotency-Key": "abc-3"}
    first = await client.post(URL, json={"url": "not a url"}, headers=headers)
    again = await client.post(URL, json={"url": "not a url"}, headers=headers)
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


async def test_keys_belong_to_one_secret_key(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    first_key = await _bearer(state, team, "first")
    second_key = await _bearer(state, team, "second")
    body = {"url": "https://hooks.example.com/a"}
    one = await client.post(URL, json=body, headers={**first_key, "Idempotency-Key": "same"})
    two = await client.post(URL, json=body, headers={**second_key, "Idempotency-Key": "same"})
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]


async def test_without_a_key_every_post_acts(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    headers = await _bearer(state, team)
    for _ in range(2):
        response = await client.post(URL, json={"url": "https://h.example.com"}, headers=headers)
        assert response.status_code == 201
    assert len(await outbox.list_endpoints(team.access(), state.engine)) == 2


async def test_overlong_key_is_refused(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    headers = {**await _bearer(state, team), "Idempotency-Key": "k" * 256}
    response = await client.post(URL, json={"url": "https://h.example.com"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "Idempotency-Key"


async def test_keys_expire_after_a_day(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    headers = {**await _bearer(state, team), "Idempotency-Key": "old"}
    await client.post(URL, json={"url": "https://h.example.com"}, headers=headers)
    async with state.engine.begin() as conn:
        await conn.execute(
            update(idempotency_keys).values(created_at=utcnow() - timedelta(hours=25))
        )
    await idempotency.purge_expired(state.engine)
    async with state.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(idempotency_keys)) == 0
    again = await client.post(URL, json={"url": "https://h.example.com"}, headers=headers)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers


async def test_a_retry_while_the_first_request_runs_is_409(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    key, secret = await accounts.create_api_key(team.access(), state.engine, "k")
    # The first request has claimed the key and not answered yet.
    assert await api_store.claim_key(state.engine, key.id, "busy", "digest", utcnow())
    response = await client.post(
        URL,
        json={"url": "https://h.example.com"},
        headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "busy"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert await outbox.list_endpoints(team.access(), state.engine) == []
