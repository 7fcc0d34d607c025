"""The sandbox payment page, through HTTP, driving the real state machine."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import SiteTeam, make_settings
from tests.payments.conftest import Calls, make_offer
from widget_server.errors import ServiceUnavailable
from widget_server.payments import service
from widget_server.payments.gateway import card_gateway
from widget_server.runtime import Runtime

_TOKEN = re.compile(r'name="token" value="([^"]+)"')


async def open_sandbox(state: Runtime, team: SiteTeam, client: httpx.AsyncClient) -> str:
    await make_offer(state, team)
    response = await client.get(f"/pay/{team.site.key}/ebook")
    assert response.status_code == 303
    path = response.headers["location"].removeprefix("http://testserver")
    page = await client.get(path)
    assert page.status_code == 200
    assert "Sandbox — no real money moves" in page.text
    return path


async def press(
    client: httpx.AsyncClient, path: str, action: str, email: str | None = None
) -> httpx.Response:
    page = await client.get(path)
    match = _TOKEN.search(page.text)
    assert match, page.text
    data = {"token": match.group(1), "action": action}
    if email is not None:
        data["email"] = email
    return await client.post(path, data=data)


async def status_of(state: Runtime, path: str) -> str:
    order = await service.order_by_public_id(state.engine, path.rsplit("/", 1)[1])
    assert order is not None
    return order.status


async def test_sandbox_success_shows_the_success_text(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, calls: Calls
) -> None:
    path = await open_sandbox(state, team, client)
    response = await press(client, path, "pay")
    assert response.status_code == 303
    result = await client.get(response.headers["location"])
    assert "Thanks, enjoy the book!" in result.text
    assert await status_of(state, path) == "paid"
    assert len(calls.fulfilled) == 1


async def test_sandbox_failure_shows_the_failure_text(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, calls: Calls
) -> None:
    path = await open_sandbox(state, team, client)
    response = await press(client, path, "fail")
    result = await client.get(response.headers["location"])
    assert "Payment failed, sorry." in result.text
    assert await status_of(state, path) == "failed"
    assert calls.fulfilled == []


async def test_sandbox_delayed_payment_then_confirmed(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, calls: Calls
) -> None:
    path = await open_sandbox(state, team, client)
    later = await press(client, path, "later")
    assert later.headers["location"] == path
    waiting = await client.get(path)
    assert 'data-result="awaiting"' in waiting.text
    assert 'value="confirm"' in waiting.text and 'value="later"' not in waiting.text
    assert await status_of(state, path) == "pending"
    assert calls.fulfilled == []
    confirmed = await press(client, path, "confirm")
    result = await client.get(confirmed.headers["location"])
    assert "Thanks, enjoy the book!" in result.text
    assert await status_of(state, path) == "paid"
    assert len(calls.fulfilled) == 1


async def test_the_sandbox_reports_the_email_typed_like_a_payment_page(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, calls: Calls
) -> None:
    path = await open_sandbox(state, team, client)
    refused = await press(client, path, "pay", email="not an address")
    assert refused.status_code == 422 and "email" in refused.text
    assert await status_of(state, path) == "pending" and calls.fulfilled == []
    paid = await press(client, path, "pay", email=" buyer@example.com ")
    assert paid.status_code == 303
    order = await service.order_by_public_id(state.engine, path.rsplit("/", 1)[1])
    assert order is not None
    assert (order.status, order.customer_email) == ("paid", "buyer@example.com")


async def test_sandbox_rejects_a_forged_token(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, calls: Calls
) -> None:
    path = await open_sandbox(state, team, client)
    response = await client.post(path, data={"token": "forged", "action": "pay"})
    assert response.status_code == 403
    assert await status_of(state, path) == "pending"
    assert calls.fulfilled == []


def test_production_without_a_stripe_key_has_no_sandbox(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path, env="production")
    with pytest.raises(ServiceUnavailable):
        card_gateway(settings)
    with_key = make_settings("sqlite://", tmp_path, env="production", stripe_secret_key="sk_x")
    assert card_gateway(with_key).name == "stripe"
    assert card_gateway(make_settings("sqlite://", tmp_path)).name == "sandbox"
