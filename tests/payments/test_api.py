"""Offers, orders and refunds over /api/v2; manual payments; direct payment links."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import SiteTeam
from tests.payments.conftest import Calls, make_offer, queued
from widget_server.errors import Conflict, Forbidden
from widget_server.payments import offers, service
from widget_server.runtime import Runtime


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def paid_sandbox_order(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str
) -> str:
    response = await client.post(
        "/api/v2/checkout_links", json={"offer": "ebook"}, headers=auth(secret)
    )
    assert response.status_code == 201, response.text
    public_id: str = response.json()["order"]["id"]
    order = await service.get_order(state.engine, team.site.id, public_id)
    assert order.gateway == "sandbox"
    from widget_server.payments import sandbox

    event = sandbox.event_for(order, "pay")
    assert event is not None
    await service.apply_event(state.engine, "sandbox", event)
    return public_id


async def test_offer_validation_names_every_bad_field(
    client: httpx.AsyncClient, secret: str
) -> None:
    body = {
        "slug": "Bad Slug",
        "name": "",
        "amount": 0,
        "currency": "EUR",
        "methods": ["card", "bitcoin"],
        "guest_allowed": "yes",
        "grants": {"kind": "castle"},
        "colour": "red",
    }
    response = await client.post("/api/v2/offers", json=body, headers=auth(secret))
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert fields == {
        "slug",
        "name",
        "amount",
        "currency",
        "methods",
        "guest_allowed",
        "grants",
        "colour",
    }
    missing = await client.post("/api/v2/offers", json={}, headers=auth(secret))
    assert missing.status_code == 422
    assert {d["field"] for d in missing.json()["error"]["details"]} == {
        "slug",
        "name",
        "amount",
        "currency",
    }


async def test_offers_are_created_listed_and_read_by_slug(
    client: httpx.AsyncClient, secret: str
) -> None:
    body: dict[str, Any] = {
        "slug": "course-1",
        "name": "Course",
        "amount": 4900,
        "currency": "cad",
        "methods": ["bank_transfer", "card"],
        "grants": {"kind": "url", "value": "https://example.com/course"},
    }
    created = await client.post("/api/v2/offers", json=body, headers=auth(secret))
    assert created.status_code == 201, created.text
    assert created.json()["methods"] == ["card", "bank_transfer"]
    again = await client.post("/api/v2/offers", json=body, headers=auth(secret))
    assert again.status_code == 409
    listed = await client.get("/api/v2/offers", headers=auth(secret))
    assert [o["slug"] for o in listed.json()["data"]] == ["course-1"]
    one = await client.get("/api/v2/offers/course-1", headers=auth(secret))
    assert (one.json()["amount"], one.json()["currency"]) == (4900, "cad")
    assert (await client.get("/api/v2/offers/nope", headers=auth(secret))).status_code == 404
    assert (await client.get("/api/v2/offers")).status_code == 401


async def test_only_admins_manage_offers(state: Runtime, team: SiteTeam) -> None:
    body = {"slug": "x", "name": "X", "amount": 100, "currency": "eur"}
    with pytest.raises(Forbidden):
        await offers.create_offer(team.access("operator"), state.engine, body)
    with pytest.raises(Forbidden):
        await offers.update_offer(team.access("operator"), state.engine, "x", {"name": "Y"})
    await offers.create_offer(team.access("admin"), state.engine, body)
    updated = await offers.update_offer(team.access("admin"), state.engine, "x", {"amount": 200})
    assert (updated.name, updated.amount) == ("X", 200)


async def test_orders_api_lists_filters_and_reads(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str
) -> None:
    await make_offer(state, team)
    paid = await paid_sandbox_order(state, team, client, secret)
    pending = (
        await client.post("/api/v2/checkout_links", json={"offer": "ebook"}, headers=auth(secret))
    ).json()["order"]["id"]
    everything = await client.get("/api/v2/orders", headers=auth(secret))
    assert [o["id"] for o in everything.json()["data"]] == [pending, paid]
    only_paid = await client.get("/api/v2/orders?status=paid", headers=auth(secret))
    assert [o["id"] for o in only_paid.json()["data"]] == [paid]
    one = await client.get("/api/v2/orders?limit=1", headers=auth(secret))
    assert len(one.json()["data"]) == 1
    bad = await client.get("/api/v2/orders?status=lost&limit=0", headers=auth(secret))
    assert bad.status_code == 422
    read = await client.get(f"/api/v2/orders/{paid}", headers=auth(secret))
    assert (read.json()["status"], read.json()["amount"]) == ("paid", 1500)
    assert (await client.get("/api/v2/orders/ord_nope", headers=auth(secret))).status_code == 404


async def test_checkout_link_validation_and_unknown_offer(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str
) -> None:
    await make_offer(state, team)
    bad = await client.post(
        "/api/v2/checkout_links",
        json={"customer_email": "nope", "visit": -1, "success_url": "ftp://x"},
        headers=auth(secret),
    )
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {
        "offer",
        "customer_email",
        "visit",
        "success_url",
    }
    unknown = await client.post(
        "/api/v2/checkout_links", json={"offer": "missing"}, headers=auth(secret)
    )
    assert unknown.status_code == 404


async def test_refunds_full_partial_and_over_refund(
    state: Runtime,
    team: SiteTeam,
    client: httpx.AsyncClient,
    secret: str,
    calls: Calls,
    hooked: None,
) -> None:
    await make_offer(state, team)
    first = await paid_sandbox_order(state, team, client, secret)
    partial = await client.post(
        f"/api/v2/orders/{first}/refund", json={"amount": 500}, headers=auth(secret)
    )
    assert partial.status_code == 200, partial.text
    assert (partial.json()["status"], partial.json()["refunded_amount"]) == (
        "partially_refunded",
        500,
    )
    over = await client.post(
        f"/api/v2/orders/{first}/refund", json={"amount": 1001}, headers=auth(secret)
    )
    assert over.status_code == 422
    assert over.json()["error"]["details"][0]["field"] == "amount"
    rest = await client.post(f"/api/v2/orders/{first}/refund", headers=auth(secret))
    assert (rest.json()["status"], rest.json()["refunded_amount"]) == ("refunded", 1500)
    second = await paid_sandbox_order(state, team, client, secret)
    full = await client.post(f"/api/v2/orders/{second}/refund", json={}, headers=auth(secret))
    assert (full.json()["status"], full.json()["refunded_amount"]) == ("refunded", 1500)
    assert calls.refunded == [first, first, second]
    assert await queued(state, "order.refunded") == 3


async def test_manual_order_is_marked_paid_once(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str, calls: Calls
) -> None:
    await make_offer(
        state, team, methods=["bank_transfer"], bank_instructions="IBAN FR76 0000 1111"
    )
    created = await client.post(
        "/api/v2/checkout_links", json={"offer": "ebook"}, headers=auth(secret)
    )
    data = created.json()
    assert (data["order"]["gateway"], data["order"]["method"]) == ("manual", "bank_transfer")
    page = await client.get(data["url"].removeprefix("http://testserver"))
    assert "IBAN FR76 0000 1111" in page.text
    with pytest.raises(Forbidden):
        await service.mark_paid(team.access("operator"), state.engine, data["order"]["id"])
    paid = await service.mark_paid(team.access("admin"), state.engine, data["order"]["id"])
    assert paid.status == "paid"
    with pytest.raises(Conflict):
        await service.mark_paid(team.access("owner"), state.engine, data["order"]["id"])
    assert calls.fulfilled == [data["order"]["id"]]


async def test_pay_link_redirects_guests_and_hides_members_only_offers(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    await make_offer(state, team)
    await make_offer(state, team, slug="members", guest_allowed=False)
    await make_offer(state, team, slug="retired", active=False)
    client.cookies.set("_vt", "42.1700000000000.")
    guest = await client.get(f"/pay/{team.site.key}/ebook")
    assert guest.status_code == 303
    assert guest.headers["location"].startswith("http://testserver/pay/sandbox/ord_")
    [order] = await service.list_orders(state.engine, team.site.id, None, 10)
    assert (order.status, order.visit_number) == ("pending", 42)
    for path in ("members", "retired", "missing"):
        assert (await client.get(f"/pay/{team.site.key}/{path}")).status_code == 404
    assert (await client.get("/pay/nosuchsite/ebook")).status_code == 404


async def test_concurrent_confirmations_fulfil_once(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str, calls: Calls
) -> None:
    """Ten distinct events confirming one payment, applied at once: one fulfilment."""
    import asyncio

    from widget_server.payments.models import PaymentEvent

    await make_offer(state, team)
    created = await client.post(
        "/api/v2/checkout_links", json={"offer": "ebook"}, headers=auth(secret)
    )
    public_id = created.json()["order"]["id"]
    events = [
        PaymentEvent(
            kind="completed_paid" if n % 2 else "async_succeeded",
            event_id=f"evt_{n}",
            order_ref=public_id,
            payment_id="pi_1",
        )
        for n in range(10)
    ]
    await asyncio.gather(*(service.apply_event(state.engine, "sandbox", e) for e in events))
    assert calls.fulfilled == [public_id]
    assert (await service.get_order(state.engine, team.site.id, public_id)).status == "paid"
