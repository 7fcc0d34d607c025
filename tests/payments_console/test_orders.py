"""The console's Orders tab over HTTP: the list and its filters, the order page, refunds and
offline payments; admins only, and every action behind the CSRF token."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from tests.conftest import SiteTeam, log_in, make_settings
from tests.console.conftest import row_with, text_of
from tests.console.test_csrf import concrete
from tests.payments.conftest import make_offer
from tests.payments_console.conftest import Admin, RefusingStripe, paid_order
from widget_server.access import console as access_console
from widget_server.payments import console as payment_console
from widget_server.payments import service
from widget_server.payments.checkout import open_checkout
from widget_server.runtime import Runtime
from widget_server.settings import Settings

POST_PATHS = sorted(
    route.path
    for route in [*payment_console.routes, *access_console.routes]
    if isinstance(route, Route) and route.methods and "POST" in route.methods
)


def timeline_of(page: str) -> list[str]:
    match = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', page, re.S)
    assert match, "no timeline on the page"
    return [
        text_of(item).split(" — ", 1)[1]
        for item in re.findall(r"<li>(.*?)</li>", match.group(1), re.S)
    ]


async def test_the_orders_tab_lists_orders_newest_first(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    offer = await make_offer(state, team)
    first, _ = await open_checkout(state, offer, customer_email="ann@example.com", visit_number=42)
    second = await paid_order(state, team, "Bob@Example.com", slug="course")
    page = await admin.get("/orders")
    assert page.status_code == 200
    assert page.text.index(second.public_id) < page.text.index(first.public_id)
    row = text_of(row_with(page.text, f'data-order="{first.public_id}"'))
    for shown in ("15.00 EUR", "Awaiting payment", "Card", "ann@example.com", "42"):
        assert shown in row, shown
    assert "Paid" in text_of(row_with(page.text, f'data-order="{second.public_id}"'))


async def test_orders_are_filtered_by_status_e_mail_or_id(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    offer = await make_offer(state, team)
    pending, _ = await open_checkout(state, offer, customer_email="ann@example.com")
    paid = await paid_order(state, team, "bob@example.com", slug="course")
    only_paid = await admin.get("/orders", status="paid")
    assert paid.public_id in only_paid.text and pending.public_id not in only_paid.text
    by_mail = await admin.get("/orders", q="ANN@")
    assert pending.public_id in by_mail.text and paid.public_id not in by_mail.text
    by_id = await admin.get("/orders", q=paid.public_id)
    assert paid.public_id in by_id.text and pending.public_id not in by_id.text
    nothing = await admin.get("/orders", q="%")
    assert "No orders match." in text_of(nothing.text)
    unknown = await admin.get("/orders", status="lost")
    assert unknown.status_code == 422
    assert (await admin.get("/orders", page="x")).status_code == 200


async def test_flagged_orders_carry_a_badge_and_have_their_filter(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    flagged = await paid_order(state, team, None)
    granted = await paid_order(state, team, "bob@example.com", slug="course")
    page = await admin.get("/orders")
    assert "Needs manual access" in text_of(
        row_with(page.text, f'data-order="{flagged.public_id}"')
    )
    assert "Needs manual access" not in text_of(
        row_with(page.text, f'data-order="{granted.public_id}"')
    )
    manual = await admin.get("/orders", manual="1")
    assert flagged.public_id in manual.text and granted.public_id not in manual.text


async def test_the_order_page_shows_every_field_and_a_readable_timeline(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    order = await paid_order(state, team, "ann@example.com")
    page = await admin.get(f"/orders/{order.public_id}")
    assert page.status_code == 200
    details = text_of(page.text)
    for shown in (order.public_id, "The e-book", "15.00 EUR", "sandbox", "ann@example.com"):
        assert shown in details, shown
    assert str(order.payment_id) in details and str(order.checkout_id) in details
    assert timeline_of(page.text) == [
        "Order created (method: Card).",
        "Gateway: checkout completed and paid.",
        "Payment recorded; the order is fulfilled.",
    ]
    access = text_of(row_with(page.text, "data-grant="))
    assert "ann@example.com" in access and "Active" in access
    assert (await admin.get("/orders/ord_unknown")).status_code == 404


async def test_a_partial_then_a_full_refund(state: Runtime, team: SiteTeam, admin: Admin) -> None:
    order = await paid_order(state, team, "ann@example.com")
    url = f"/orders/{order.public_id}"
    response = await admin.post(url + "/refund", amount="5,50")
    assert response.status_code == 303
    page = await admin.get(url)
    assert "Refunded 5.50 EUR." in text_of(page.text)  # the flash
    assert timeline_of(page.text)[-1] == "Refunded 5.50 EUR."
    assert "Partially refunded" in text_of(page.text)
    assert "Leave empty to refund all that is left: 9.50 EUR." in text_of(page.text)
    assert (await admin.post(url + "/refund", amount="")).status_code == 303
    refunded = await service.get_order(state.engine, team.site.id, order.public_id)
    assert (refunded.status, refunded.refunded_amount) == ("refunded", 1500)
    assert 'id="refund-form"' not in (await admin.get(url)).text


@pytest.mark.parametrize(
    ("amount", "status", "message"),
    [
        ("abc", 422, "Enter the amount as a positive number with at most 2 decimals."),
        ("0", 422, "Enter the amount as a positive number"),
        ("15.01", 422, "That is more than what is left to refund."),
    ],
)
async def test_a_bad_refund_amount_is_explained_at_the_form(
    state: Runtime, team: SiteTeam, admin: Admin, amount: str, status: int, message: str
) -> None:
    order = await paid_order(state, team, "ann@example.com")
    response = await admin.post(f"/orders/{order.public_id}/refund", amount=amount)
    assert response.status_code == status
    assert message in text_of(response.text)
    assert 'id="amount-errors"' in response.text
    unchanged = await service.get_order(state.engine, team.site.id, order.public_id)
    assert (unchanged.status, unchanged.refunded_amount) == ("paid", 0)


async def test_an_unpaid_order_cannot_be_refunded(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    offer = await make_offer(state, team)
    order, _ = await open_checkout(state, offer, customer_email="ann@example.com")
    response = await admin.post(f"/orders/{order.public_id}/refund", amount="1")
    assert response.status_code == 409
    assert "Only a paid order can be refunded." in text_of(response.text)
    assert (await admin.post("/orders/ord_unknown/refund")).status_code == 404


async def test_an_offline_order_is_marked_paid_once(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    offer = await make_offer(state, team, methods=["cash"])
    order, _ = await open_checkout(state, offer, customer_email="ann@example.com")
    assert order.gateway == "manual"
    url = f"/orders/{order.public_id}"
    assert "Mark paid" in (await admin.get(url)).text
    assert (await admin.post(url + "/mark-paid")).status_code == 303
    page = await admin.get(url)
    assert "The order is marked paid." in text_of(page.text)
    assert timeline_of(page.text)[-1] == "Marked paid in the console."
    assert "Mark paid" not in page.text
    again = await admin.post(url + "/mark-paid")
    assert again.status_code == 409
    assert "This order is not waiting for a payment." in text_of(again.text)


async def test_a_card_order_is_not_marked_paid_by_hand(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    offer = await make_offer(state, team)
    order, _ = await open_checkout(state, offer, customer_email="ann@example.com")
    assert "Mark paid" not in (await admin.get(f"/orders/{order.public_id}")).text
    response = await admin.post(f"/orders/{order.public_id}/mark-paid")
    assert response.status_code == 409
    assert "Only an offline order is marked paid here" in text_of(response.text)
    assert (
        await service.get_order(state.engine, team.site.id, order.public_id)
    ).status == "pending"
    assert (await admin.post("/orders/ord_unknown/mark-paid")).status_code == 404


class TestAGatewayThatRefuses:
    @pytest.fixture
    def settings(
        self, database_url: str, tmp_path: Path, refusing_stripe: RefusingStripe
    ) -> Settings:
        return make_settings(
            database_url,
            tmp_path,
            stripe_secret_key="sk_test_fake",
            stripe_api_base=refusing_stripe.url,
        )

    async def test_its_refusal_is_a_flash_message_and_nothing_changes(
        self, state: Runtime, team: SiteTeam, admin: Admin, refusing_stripe: RefusingStripe
    ) -> None:
        offer = await make_offer(state, team)
        order = await service.create_order(
            state.engine, offer, gateway="stripe", method="card", customer_email="a@example.com"
        )
        async with state.engine.begin() as conn:
            await service.fulfil_in(state, conn, order, "pi_123")
        url = f"/orders/{order.public_id}"
        response = await admin.post(url + "/refund", amount="3")
        assert response.status_code == 303
        assert (
            len(refusing_stripe.refunds) == 1
            and "payment_intent=pi_123" in refusing_stripe.refunds[0]
        )
        page = await admin.get(url)
        assert (
            "The payment gateway refused the refund: Charge ch_1 has already been refunded."
            in text_of(page.text)
        )
        unchanged = await service.get_order(state.engine, team.site.id, order.public_id)
        assert (unchanged.status, unchanged.refunded_amount) == ("paid", 0)


async def test_an_operator_cannot_see_or_act_on_orders(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    order = await paid_order(state, team, "ann@example.com")
    csrf = await log_in(client, "operator@example.com")
    base = f"/console/sites/{team.site.key}/orders"
    assert (await client.get(base)).status_code == 403
    assert (await client.get(f"{base}/{order.public_id}")).status_code == 403
    for path in POST_PATHS:
        if "/orders/" in path:
            url = concrete(path, team.site.key).replace("/orders/1", f"/orders/{order.public_id}")
            response = await client.post(
                url, data={"csrf_token": csrf, "amount": "1", "email": "x@example.com"}
            )
            assert response.status_code == 403, path
    unchanged = await service.get_order(state.engine, team.site.id, order.public_id)
    assert (unchanged.status, unchanged.refunded_amount) == ("paid", 0)


def test_every_action_is_a_post_route() -> None:
    expected: list[Any] = [
        "/offers",
        "/edit",
        "/activate",
        "/deactivate",
        "/refund",
        "/mark-paid",
        "/grant",
        "/resend-access",
        "/revoke",
        "/move",
    ]
    for suffix in expected:
        assert any(path.endswith(suffix) for path in POST_PATHS), suffix


@pytest.mark.parametrize("path", POST_PATHS)
async def test_every_action_refuses_a_form_without_the_csrf_token(
    state: Runtime, team: SiteTeam, admin: Admin, path: str
) -> None:
    order = await paid_order(state, team, "ann@example.com")
    url = concrete(path, team.site.key).replace("/orders/1", f"/orders/{order.public_id}")
    url = url.replace("/offers/1/", "/offers/ebook/")
    missing = await admin.http.post(
        url, data={"amount": "1", "email": "x@example.com", "name": "x"}
    )
    assert missing.status_code == 403, missing.text
    assert missing.json()["error"]["code"] == "csrf_failed"
    wrong = await admin.http.post(url, data={"csrf_token": admin.csrf[::-1], "amount": "1"})
    assert wrong.status_code == 403
    unchanged = await service.get_order(state.engine, team.site.id, order.public_id)
    assert (unchanged.status, unchanged.refunded_amount) == ("paid", 0)


async def test_every_timeline_entry_reads_as_a_sentence(state: Runtime, team: SiteTeam) -> None:
    order = await paid_order(state, team, "ann@example.com")
    mismatch = {"expected": 1500, "currency": "eur", "paid": 900, "paid_currency": "eur"}
    assert payment_console.describe_event("amount_mismatch", mismatch, order) == (
        "The gateway reported 9.00\u00a0EUR paid for an order of 15.00\u00a0EUR: not fulfilled."
    )
    kinds = ["created", "paid", "marked_paid", "awaiting_payment", "refunded"]
    kinds += [f"gateway:{kind}" for kind in ("completed_paid", "completed_unpaid")]
    kinds += [f"gateway:{kind}" for kind in ("async_succeeded", "async_failed", "expired")]
    for kind in [*kinds, "gateway:refunded"]:
        sentence = payment_console.describe_event(kind, {"method": "card", "amount": 100}, order)
        assert sentence != kind and sentence.endswith("."), kind
