"""client.offers, checkout_links, payment_links and orders against the real app (live and
in-process), paying through the sandbox page as a buyer would."""

from __future__ import annotations

import re

import httpx
import pytest
import vitrine_sdk
from starlette.applications import Starlette

from tests.conftest import LiveServer, create_team, seed
from widget_server.accounts import service as accounts
from widget_server.runtime import Runtime

_TOKEN = re.compile(r'name="token" value="([^"]+)"')
EBOOK = {
    "slug": "ebook",
    "name": "The e-book",
    "amount": 1500,
    "currency": "eur",
    "guest_allowed": True,
    "success_text": "Thanks, enjoy the book!",
}


async def make_secret(state: Runtime) -> tuple[str, str]:
    """A new site's secret API key and its public site key."""
    team = await create_team(state)
    _, secret = await accounts.create_api_key(team.access(), state.engine, "shop")
    return secret, team.site.key


def pay_in_sandbox(url: str) -> None:
    """Press "pay" on the sandbox page, as the buyer's browser would."""
    with httpx.Client() as browser:
        page = browser.get(url)
        assert page.status_code == 200
        match = _TOKEN.search(page.text)
        assert match, page.text
        done = browser.post(url, data={"token": match.group(1), "action": "pay"})
        assert done.status_code == 303


def test_sync_client_sells_pays_and_refunds_on_a_live_server(live_server: LiveServer) -> None:
    secret, site_key = seed(live_server, make_secret)
    with vitrine_sdk.Client(secret, base_url=live_server.url) as client:
        offer = client.offers.create(**EBOOK)
        assert (offer.slug, offer.amount, offer.currency, offer.methods) == (
            "ebook",
            1500,
            "eur",
            ["card"],
        )
        assert client.offers.get("ebook") == offer
        assert client.offers.list() == [offer]

        link = client.checkout_links.create(
            offer="ebook", customer_email="buyer@example.com", metadata={"cart": "c-1"}
        )
        assert link.url == f"{live_server.url}/pay/sandbox/{link.order.id}"
        order = link.order
        assert (order.status, order.amount, order.currency, order.gateway) == (
            "pending",
            1500,
            "eur",
            "sandbox",
        )
        assert order.customer_email == "buyer@example.com"
        assert order.metadata == {"cart": "c-1"}
        assert order.fulfilled_at is None and order.created_at.tzinfo is not None
        assert client.orders.get(order.id) == order
        assert client.orders.list() == [order]
        assert client.orders.list(status="paid") == []

        pay_in_sandbox(link.url)
        paid = client.orders.get(order.id)
        assert paid.status == "paid" and paid.fulfilled_at is not None
        assert [o.id for o in client.orders.list(status="paid", limit=1)] == [order.id]

        half = client.orders.refund(order.id, 750)
        assert (half.status, half.refunded_amount) == ("partially_refunded", 750)
        with pytest.raises(vitrine_sdk.UnprocessableEntityError) as too_much:
            client.orders.refund(order.id, 751)
        assert [d["field"] for d in too_much.value.details] == ["amount"]
        rest = client.orders.refund(order.id)
        assert (rest.status, rest.refunded_amount) == ("refunded", 1500)
        assert client.orders.get(order.id).status == "refunded"

        payment_link = client.payment_links.create(offer="ebook")
        assert payment_link.url == f"{live_server.url}/pay/{site_key}/ebook"
        assert payment_link.offer == offer
        with pytest.raises(vitrine_sdk.NotFoundError):
            client.payment_links.create(offer="no-such-offer")
        with pytest.raises(vitrine_sdk.NotFoundError):
            client.checkout_links.create(offer="no-such-offer")
        with pytest.raises(vitrine_sdk.NotFoundError):
            client.orders.get("ord_missing")
        with pytest.raises(TypeError):
            client.orders.get(1)  # type: ignore[arg-type]

    # The direct link works for a buyer: a new guest order, then the sandbox page.
    with httpx.Client() as browser:
        opened = browser.get(payment_link.url)
    assert opened.status_code == 303
    assert opened.headers["location"].startswith(f"{live_server.url}/pay/sandbox/ord_")


async def test_async_client_creates_links_and_refunds_in_process(
    app: Starlette, state: Runtime
) -> None:
    secret, site_key = await make_secret(state)
    transport = httpx.ASGITransport(app=app)
    async with vitrine_sdk.AsyncClient(
        secret, base_url="http://testserver", transport=transport
    ) as client:
        offer = await client.offers.create(**EBOOK)
        assert await client.offers.list() == [offer]
        link = await client.checkout_links.create("ebook", visit=None, success_url=None)
        assert link.url == f"http://testserver/pay/sandbox/{link.order.id}"
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
            page = await web.get(link.url)
            match = _TOKEN.search(page.text)
            assert match, page.text
            paid = await web.post(link.url, data={"token": match.group(1), "action": "pay"})
            assert paid.status_code == 303
        assert (await client.orders.get(link.order.id)).status == "paid"
        with pytest.raises(vitrine_sdk.UnprocessableEntityError) as too_much:
            await client.orders.refund(link.order.id, 1501)
        assert [d["field"] for d in too_much.value.details] == ["amount"]
        half = await client.orders.refund(link.order.id, 500)
        assert (half.status, half.refunded_amount) == ("partially_refunded", 500)
        rest = await client.orders.refund(link.order.id)
        assert (rest.status, rest.refunded_amount) == ("refunded", 1500)
        assert [o.id for o in await client.orders.list(status="refunded")] == [link.order.id]

        first = await client.payment_links.create("ebook")
        assert first.url == f"http://testserver/pay/{site_key}/ebook"
        with pytest.raises(vitrine_sdk.NotFoundError):
            await client.payment_links.create("missing")
        with pytest.raises(vitrine_sdk.ConflictError):
            await client.offers.create(**EBOOK)

        renamed = await client.offers.update("ebook", name="The e-book, 2nd ed.", amount=1700)
        assert (renamed.slug, renamed.name, renamed.amount) == (
            "ebook",
            "The e-book, 2nd ed.",
            1700,
        )
        assert renamed.currency == offer.currency and renamed.updated_at >= offer.updated_at
        with pytest.raises(vitrine_sdk.UnprocessableEntityError) as bad:
            await client.offers.update("ebook", slug="other", amount=-1)
        assert sorted(d["field"] for d in bad.value.details) == ["amount", "slug"]
        assert (await client.offers.get("ebook")).amount == 1700  # nothing half-written
        off = await client.offers.update("ebook", active=False)
        assert not off.active
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
            assert (await web.get(first.url)).status_code == 404  # off sale: the link is gone
        with pytest.raises(vitrine_sdk.NotFoundError):
            await client.offers.update("missing", name="x")


async def test_every_payments_post_carries_an_idempotency_key(
    app: Starlette, state: Runtime
) -> None:
    secret, _site_key = await make_secret(state)
    sent: list[httpx.Request] = []
    inner = httpx.ASGITransport(app=app)

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return await inner.handle_async_request(request)

    async with vitrine_sdk.AsyncClient(
        secret, base_url="http://testserver", transport=Recording()
    ) as client:
        await client.offers.create(**EBOOK)
        link = await client.checkout_links.create("ebook")
        with pytest.raises(vitrine_sdk.ConflictError):  # not paid yet
            await client.orders.refund(link.order.id, idempotency_key="refund-1")
        await client.payment_links.create("ebook")
        await client.payment_links.create("ebook")
    posts = [r for r in sent if r.method == "POST"]
    assert len(posts) == 3 and all(r.headers.get("Idempotency-Key") for r in posts)
    assert posts[-1].headers["Idempotency-Key"] == "refund-1"
    # The site key is read once per client, however many payment links are made.
    assert [r.url.path for r in sent].count("/api/v2/site") == 1
