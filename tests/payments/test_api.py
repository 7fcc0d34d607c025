"""Offers, orders and refunds over /api/v2; manual payments; direct payment links."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import SiteTeam
from tests.payments.conftest import Calls, issued_visit, make_offer, queued
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
    await service.apply_event(state, "sandbox", event)
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
        "customer_fields": ["name", "shoe size"],
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
        "customer_fields",
        "colour",
    }
    scripted = {"kind": "url", "value": "javascript:alert(1)"}
    refused = await client.post(
        "/api/v2/offers",
        json={"slug": "x", "name": "X", "amount": 100, "currency": "eur", "grants": scripted},
        headers=auth(secret),
    )
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["grants"]
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
    assert (one.json()["amount"], one.json()["currency"], one.json()["active"]) == (
        4900,
        "cad",
        True,
    )
    assert (await client.get("/api/v2/offers/nope", headers=auth(secret))).status_code == 404
    assert (await client.get("/api/v2/offers")).status_code == 401


async def test_an_inactive_offer_is_shown_to_its_owner_as_inactive(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str
) -> None:
    await make_offer(state, team, slug="retired", active=False)
    one = await client.get("/api/v2/offers/retired", headers=auth(secret))
    assert one.status_code == 200 and one.json()["active"] is False
    listed = await client.get("/api/v2/offers", headers=auth(secret))
    assert [(o["slug"], o["active"]) for o in listed.json()["data"]] == [("retired", False)]
    link = await client.post(
        "/api/v2/checkout_links", json={"offer": "retired"}, headers=auth(secret)
    )
    assert link.status_code == 404


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
    assert (read.json()["status"], read.json()["amount"], read.json()["offer"]) == (
        "paid",
        1500,
        "ebook",
    )
    # Paid after it was created: updated_at moved on, and is the time of the payment.
    assert read.json()["updated_at"] > read.json()["created_at"]
    assert read.json()["updated_at"] == read.json()["fulfilled_at"]
    assert (await client.get("/api/v2/orders/ord_nope", headers=auth(secret))).status_code == 404


async def test_checkout_link_validation_and_unknown_offer(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str
) -> None:
    await make_offer(state, team)
    bad = await client.post(
        "/api/v2/checkout_links",
        json={"customer_email": "nope", "visit": -1, "success_url": "ftp://x", "language": "de"},
        headers=auth(secret),
    )
    assert bad.status_code == 422
    assert {d["field"] for d in bad.json()["error"]["details"]} == {
        "offer",
        "customer_email",
        "visit",
        "success_url",
        "language",
    }
    unknown = await client.post(
        "/api/v2/checkout_links", json={"offer": "missing"}, headers=auth(secret)
    )
    assert unknown.status_code == 404
    # A visit the site's counter never gave out: refused, nothing stored.
    issued = await issued_visit(state, team)
    made_up = await client.post(
        "/api/v2/checkout_links",
        json={"offer": "ebook", "visit": issued + 100_000},
        headers=auth(secret),
    )
    assert made_up.status_code == 422
    [detail] = made_up.json()["error"]["details"]
    assert (detail["field"], detail["code"]) == ("visit", "unknown_visit")
    assert await service.list_orders(state.engine, team.site.id, None, 10) == []
    joined = await client.post(
        "/api/v2/checkout_links", json={"offer": "ebook", "visit": issued}, headers=auth(secret)
    )
    assert joined.status_code == 201 and joined.json()["order"]["visit_number"] == issued
    for metadata in ([], ["a"], "", "cart", 0, 7, 1.5, True, False):
        wrong = await client.post(
            "/api/v2/checkout_links",
            json={"offer": "ebook", "metadata": metadata},
            headers=auth(secret),
        )
        assert wrong.status_code == 422, metadata
        assert [d["field"] for d in wrong.json()["error"]["details"]] == ["metadata"]
    for metadata, kept in ((None, {}), ({}, {}), ({"user": "u-7"}, {"user": "u-7"})):
        fine = await client.post(
            "/api/v2/checkout_links",
            json={"offer": "ebook", "metadata": metadata},
            headers=auth(secret),
        )
        assert fine.status_code == 201, fine.text
        assert fine.json()["order"]["metadata"] == kept
        assert fine.json()["order"]["offer"] == "ebook"


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
    for body in (None, {}, {"amount": 1}):
        done = await client.post(f"/api/v2/orders/{second}/refund", json=body, headers=auth(secret))
        assert done.status_code == 409, body
        assert done.json()["error"]["code"] == "already_refunded"
        assert "already fully refunded" in done.json()["error"]["message"]
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
        await service.mark_paid(team.access("operator"), state, data["order"]["id"])
    paid = await service.mark_paid(team.access("admin"), state, data["order"]["id"])
    assert paid.status == "paid"
    with pytest.raises(Conflict):
        await service.mark_paid(team.access("owner"), state, data["order"]["id"])
    assert calls.fulfilled == [data["order"]["id"]]


async def test_pay_link_redirects_guests_and_hides_members_only_offers(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    await make_offer(state, team)
    await make_offer(state, team, slug="members", guest_allowed=False)
    await make_offer(state, team, slug="retired", active=False)
    visit = await issued_visit(state, team)
    client.cookies.set("_vt", f"{visit}.1700000000000.")
    guest = await client.get(
        f"/pay/{team.site.key}/ebook", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}
    )
    assert guest.status_code == 303
    assert guest.headers["location"].startswith("http://testserver/pay/sandbox/ord_")
    [order] = await service.list_orders(state.engine, team.site.id, None, 10)
    assert (order.status, order.visit_number, order.language) == ("pending", visit, "ru")
    assert order.customer_email is None
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
    await asyncio.gather(*(service.apply_event(state, "sandbox", e) for e in events))
    assert calls.fulfilled == [public_id]
    assert (await service.get_order(state.engine, team.site.id, public_id)).status == "paid"


async def test_orders_are_paged_with_starting_after(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str
) -> None:
    await make_offer(state, team)
    made = []
    for _n in range(5):
        created = await client.post(
            "/api/v2/checkout_links", json={"offer": "ebook"}, headers=auth(secret)
        )
        made.append(created.json()["order"]["id"])
    newest_first = made[::-1]
    seen: list[str] = []
    pages = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = await client.get("/api/v2/orders", params=params, headers=auth(secret))
        assert page.status_code == 200, page.text
        ids = [o["id"] for o in page.json()["data"]]
        seen += ids
        pages.append((ids, page.json()["has_more"]))
        if not page.json()["has_more"]:
            break
        params["starting_after"] = ids[-1]
    assert seen == newest_first
    assert [has_more for _ids, has_more in pages] == [True, True, False]
    exact = await client.get("/api/v2/orders?limit=5", headers=auth(secret))
    assert exact.json()["has_more"] is False and len(exact.json()["data"]) == 5
    last = await client.get(
        "/api/v2/orders", params={"starting_after": made[0]}, headers=auth(secret)
    )
    assert last.json() == {"data": [], "has_more": False}
    paid = await paid_sandbox_order(state, team, client, secret)
    only_paid = await client.get(
        "/api/v2/orders",
        params={"status": "paid", "starting_after": made[2]},
        headers=auth(secret),
    )
    assert only_paid.json() == {"data": [], "has_more": False}  # paid is newer than made[2]
    assert [
        o["id"]
        for o in (
            await client.get("/api/v2/orders", params={"status": "paid"}, headers=auth(secret))
        ).json()["data"]
    ] == [paid]
    for bad in ("ord_nope", ""):
        refused = await client.get(
            "/api/v2/orders", params={"starting_after": bad}, headers=auth(secret)
        )
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["details"][0]["field"] == "starting_after"
