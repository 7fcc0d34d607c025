"""Stripe: the Checkout Session request, and signed webhooks driving exactly-once fulfilment."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import SiteTeam, make_settings
from tests.payments.conftest import (
    Calls,
    FakeStripe,
    issued_visit,
    make_offer,
    queued,
    session_obj,
    signed,
    stripe_event,
)
from widget_server.outbox.tables import outbox as outbox_table
from widget_server.payments import service
from widget_server.payments.models import Order
from widget_server.runtime import Runtime
from widget_server.settings import Settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path, stripe_settings: dict[str, Any]) -> Settings:
    return make_settings(database_url, tmp_path, **stripe_settings)


def auth(secret: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {secret}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


async def checkout(client: httpx.AsyncClient, secret: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v2/checkout_links", json={"offer": "ebook", **body}, headers=auth(secret)
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def mails_to(state: Runtime, address: str) -> list[dict[str, Any]]:
    async with state.engine.connect() as conn:
        rows = await conn.execute(
            select(outbox_table.c.payload).where(
                outbox_table.c.kind == "mail", outbox_table.c.target == address
            )
        )
        return [payload for (payload,) in rows]


async def order_of(state: Runtime, team: SiteTeam, public_id: str) -> Order:
    return await service.get_order(state.engine, team.site.id, public_id)


async def post_event(client: httpx.AsyncClient, event: dict[str, Any], **kw: Any) -> httpx.Response:
    body, headers = signed(event, **kw)
    return await client.post("/webhooks/stripe", content=body, headers=headers)


async def test_checkout_session_request_carries_the_order_and_our_idempotency_key(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str, fake_stripe: FakeStripe
) -> None:
    await make_offer(state, team)
    visit = await issued_visit(state, team)
    data = await checkout(
        client,
        secret,
        customer_email="buyer@example.com",
        visit=visit,
        metadata={"ref": "x"},
        language="fr",
    )
    order_id = data["order"]["id"]
    assert data["url"].startswith("https://checkout.stripe.test/c/pay/cs_test_")
    [request] = fake_stripe.requests
    form = request["form"]
    assert request["path"] == "/v1/checkout/sessions"
    assert request["idempotency_key"] == "checkout-" + order_id
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["line_items[0][price_data][unit_amount]"] == "1500"
    assert form["line_items[0][price_data][product_data][name]"] == "The e-book"
    assert form["client_reference_id"] == order_id
    assert form["metadata[order]"] == order_id
    assert form["metadata[site]"] == str(team.site.id)
    assert form["metadata[visit]"] == str(visit)
    assert form["customer_email"] == "buyer@example.com"
    assert form["locale"] == "fr"  # Stripe's page in the buyer's language
    assert "{CHECKOUT_SESSION_ID}" in form["success_url"]
    assert form["cancel_url"].endswith("/pay/order/" + order_id)
    order = await order_of(state, team, order_id)
    assert order.checkout_id == data["url"].rsplit("/", 1)[1]
    assert (order.gateway, order.status, order.visit_number) == ("stripe", "pending", visit)
    assert (order.language, data["order"]["language"]) == ("fr", "fr")


async def test_a_retried_checkout_link_makes_no_second_order_or_session(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str, fake_stripe: FakeStripe
) -> None:
    await make_offer(state, team)
    answers = [
        await client.post(
            "/api/v2/checkout_links", json={"offer": "ebook"}, headers=auth(secret, "retry-1")
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert len(fake_stripe.requests) == 1
    assert len(await service.list_orders(state.engine, team.site.id, None, 100)) == 1
    # And the gateway's own key: a retried create for one order returns the same session.
    order = await order_of(state, team, answers[0].json()["order"]["id"])
    offer = await make_offer(state, team, slug="other")
    from widget_server.payments.stripe_gateway import StripeGateway

    gateway = StripeGateway("sk_test_fake", fake_stripe.url)
    first = await gateway.create_checkout(
        order, offer.name, "https://a/{CHECKOUT_SESSION_ID}", "https://b"
    )
    again = await gateway.create_checkout(
        order, offer.name, "https://a/{CHECKOUT_SESSION_ID}", "https://b"
    )
    assert first == again
    assert first.checkout_id == order.checkout_id
    assert {r["idempotency_key"] for r in fake_stripe.requests} == {"checkout-" + order.public_id}


async def test_paid_completion_fulfils_once_even_delivered_five_times(
    state: Runtime,
    team: SiteTeam,
    client: httpx.AsyncClient,
    secret: str,
    calls: Calls,
    hooked: None,
) -> None:
    await make_offer(state, team)
    order = await order_of(state, team, (await checkout(client, secret))["order"]["id"])
    event = stripe_event("checkout.session.completed", session_obj(order, "paid"))
    for _ in range(5):
        response = await post_event(client, event)
        assert response.status_code == 200, response.text
    paid = await order_of(state, team, order.public_id)
    assert (paid.status, paid.payment_id) == ("paid", "pi_" + order.public_id)
    assert paid.fulfilled_at is not None
    assert calls.fulfilled == [order.public_id]
    assert await queued(state, "order.paid") == 1


async def test_async_success_before_completion_fulfils_once(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str, calls: Calls
) -> None:
    await make_offer(state, team)
    order = await order_of(state, team, (await checkout(client, secret))["order"]["id"])
    succeeded = stripe_event("checkout.session.async_payment_succeeded", session_obj(order, "paid"))
    completed = stripe_event("checkout.session.completed", session_obj(order, "paid"))
    assert (await post_event(client, succeeded)).status_code == 200
    assert (await post_event(client, completed)).status_code == 200
    assert (await order_of(state, team, order.public_id)).status == "paid"
    assert calls.fulfilled == [order.public_id]


@pytest.mark.parametrize(
    ("amount_off", "currency"), [(1, None), (0, "jpy")], ids=["less", "other currency"]
)
async def test_a_payment_short_of_the_order_is_not_fulfilled_and_is_on_the_timeline(
    state: Runtime,
    team: SiteTeam,
    client: httpx.AsyncClient,
    secret: str,
    calls: Calls,
    amount_off: int,
    currency: str | None,
) -> None:
    await make_offer(state, team)
    order = await order_of(state, team, (await checkout(client, secret))["order"]["id"])
    paid = session_obj(order, "paid")
    paid["amount_total"] = order.amount - amount_off
    paid["currency"] = currency or order.currency
    assert (await post_event(client, stripe_event("checkout.session.completed", paid))).is_success
    after = await order_of(state, team, order.public_id)
    assert (after.status, after.fulfilled_at, calls.fulfilled) == ("pending", None, [])
    kinds = dict(await service.timeline(state.engine, order.id))
    assert kinds["amount_mismatch"] == {
        "expected": order.amount,
        "currency": order.currency,
        "paid": order.amount - amount_off,
        "paid_currency": currency or order.currency,
    }
    assert await queued(state, "order.paid") == 0


async def test_unpaid_completion_then_async_failure_fails_without_fulfilment(
    state: Runtime,
    team: SiteTeam,
    client: httpx.AsyncClient,
    secret: str,
    calls: Calls,
    hooked: None,
) -> None:
    await make_offer(state, team)
    order = await order_of(state, team, (await checkout(client, secret))["order"]["id"])
    unpaid = stripe_event("checkout.session.completed", session_obj(order, "unpaid"))
    await post_event(client, unpaid)
    pending = await order_of(state, team, order.public_id)
    assert pending.status == "pending"
    kinds = [kind for kind, _ in await service.timeline(state.engine, order.id)]
    assert "awaiting_payment" in kinds
    failed = stripe_event("checkout.session.async_payment_failed", session_obj(order, "unpaid"))
    await post_event(client, failed)
    # A late "paid" event must not fulfil a failed order.
    await post_event(client, stripe_event("checkout.session.completed", session_obj(order, "paid")))
    assert (await order_of(state, team, order.public_id)).status == "failed"
    assert calls.fulfilled == []
    assert await queued(state, "order.failed") == 1
    assert await queued(state, "order.paid") == 0
    # The buyer is told, at the e-mail the payment reported, with the owner's failure text.
    [mail] = await mails_to(state, "buyer@example.com")
    assert mail["subject"] == "Your payment for The e-book did not go through"
    assert "Nothing was charged." in mail["text"] and "Payment failed, sorry." in mail["text"]
    assert f"/pay/order/{order.public_id}" in mail["text"]


async def test_bad_signature_or_stale_timestamp_is_400_and_writes_nothing(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, secret: str, calls: Calls
) -> None:
    await make_offer(state, team)
    order = await order_of(state, team, (await checkout(client, secret))["order"]["id"])
    before = await service.timeline(state.engine, order.id)
    event = stripe_event("checkout.session.completed", session_obj(order, "paid"))
    forged = await post_event(client, event, secret="whsec_someone_else")
    stale = await post_event(client, event, timestamp=int(time.time()) - 3600)
    unsigned = await client.post("/webhooks/stripe", json=event)
    for response in (forged, stale, unsigned):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "bad_request"
    after = await order_of(state, team, order.public_id)
    assert (after.status, after.payment_id, after.fulfilled_at) == ("pending", None, None)
    assert await service.timeline(state.engine, order.id) == before
    assert calls.fulfilled == []
    # The same event, correctly signed, is still accepted afterwards (nothing was recorded).
    assert (await post_event(client, event)).status_code == 200
    assert calls.fulfilled == [order.public_id]


async def test_charge_refunded_refunds_calls_the_hook_and_queues_the_webhook(
    state: Runtime,
    team: SiteTeam,
    client: httpx.AsyncClient,
    secret: str,
    calls: Calls,
    hooked: None,
) -> None:
    await make_offer(state, team)
    order = await order_of(state, team, (await checkout(client, secret))["order"]["id"])
    await post_event(client, stripe_event("checkout.session.completed", session_obj(order, "paid")))
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_" + order.public_id,
        "amount": 1500,
        "amount_refunded": 500,
    }
    await post_event(client, stripe_event("charge.refunded", charge))
    partial = await order_of(state, team, order.public_id)
    assert (partial.status, partial.refunded_amount) == ("partially_refunded", 500)
    await post_event(client, stripe_event("charge.refunded", {**charge, "amount_refunded": 1500}))
    # An older cumulative figure arriving late changes nothing.
    await post_event(client, stripe_event("charge.refunded", charge))
    full = await order_of(state, team, order.public_id)
    assert (full.status, full.refunded_amount) == ("refunded", 1500)
    assert calls.refunded == [order.public_id, order.public_id]
    assert await queued(state, "order.refunded") == 2
    assert calls.fulfilled == [order.public_id]


async def test_refund_api_goes_through_stripe(
    state: Runtime,
    team: SiteTeam,
    client: httpx.AsyncClient,
    secret: str,
    fake_stripe: FakeStripe,
) -> None:
    await make_offer(state, team)
    order = await order_of(state, team, (await checkout(client, secret))["order"]["id"])
    await post_event(client, stripe_event("checkout.session.completed", session_obj(order, "paid")))
    response = await client.post(
        f"/api/v2/orders/{order.public_id}/refund", json={"amount": 400}, headers=auth(secret)
    )
    assert response.status_code == 200, response.text
    assert response.json()["refunded_amount"] == 400
    again = await client.post(
        f"/api/v2/orders/{order.public_id}/refund", json={"amount": 400}, headers=auth(secret)
    )
    assert again.json()["refunded_amount"] == 800
    refunds = [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]
    assert [r["form"] for r in refunds] == [
        {"payment_intent": "pi_" + order.public_id, "amount": "400"}
    ] * 2
    # One idempotency key per refund: the second is not mistaken for a retry of the first.
    assert [r["idempotency_key"] for r in refunds] == [
        f"refund-{order.public_id}-400",
        f"refund-{order.public_id}-800",
    ]
