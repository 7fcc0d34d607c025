"""client.access (grant, list, revoke) and orders' pagination, against the real app (live and
in-process)."""

from __future__ import annotations

import httpx
import pytest
import vitrine_sdk
from starlette.applications import Starlette

from tests.conftest import LiveServer, seed
from tests.payments.test_sandbox import press
from tests.sdk.test_payments import EBOOK, make_secret, pay_in_sandbox
from widget_server.runtime import Runtime

BOOK = {**EBOOK, "grants": {"kind": "url", "value": "https://example.com/book.pdf"}}


def test_sync_client_grants_lists_and_revokes_access(live_server: LiveServer) -> None:
    secret, _site_key = seed(live_server, make_secret)
    with vitrine_sdk.Client(secret, base_url=live_server.url) as client:
        client.offers.create(**BOOK)
        link = client.checkout_links.create("ebook")  # no e-mail: nobody gets access yet
        with pytest.raises(vitrine_sdk.ConflictError):  # not paid yet
            client.access.grant(order=link.order.id, email="buyer@example.com")
        pay_in_sandbox(link.url)
        assert client.access.list(order=link.order.id) == []

        grant = client.access.grant(order=link.order.id, email="Buyer@Example.com")
        assert isinstance(grant, vitrine_sdk.Grant)
        assert (grant.customer_email, grant.order_id, grant.kind, grant.value, grant.status) == (
            "buyer@example.com",
            link.order.id,
            "url",
            "https://example.com/book.pdf",
            "active",
        )
        assert grant.granted_at.tzinfo is not None and grant.revoked_at is None
        assert client.access.list(order=link.order.id) == [grant]
        assert client.access.list(email="buyer@example.com") == [grant]
        assert client.access.list(order=link.order.id, email="other@example.com") == []
        with pytest.raises(vitrine_sdk.ConflictError) as twice:
            client.access.grant(order=link.order.id, email="buyer@example.com")
        assert twice.value.code == "already_granted"

        revoked = client.access.revoke(grant.id)
        assert (revoked.id, revoked.status) == (grant.id, "revoked")
        assert revoked.revoked_at is not None
        assert client.access.list(email="buyer@example.com") == [revoked]
        with pytest.raises(vitrine_sdk.ConflictError):
            client.access.revoke(grant.id)
        with pytest.raises(vitrine_sdk.NotFoundError):
            client.access.revoke(grant.id + 1000)
        with pytest.raises(vitrine_sdk.NotFoundError):
            client.access.grant(order="ord_missing", email="buyer@example.com")
        with pytest.raises(vitrine_sdk.UnprocessableEntityError) as bad:
            client.access.grant(order=link.order.id, email="not-an-email")
        assert [d["field"] for d in bad.value.details] == ["email"]
        with pytest.raises(ValueError):
            client.access.list()
        with pytest.raises(TypeError):
            client.access.revoke("1")  # type: ignore[arg-type]


async def test_async_client_grants_and_revokes_in_process(app: Starlette, state: Runtime) -> None:
    secret, _site_key = await make_secret(state)
    transport = httpx.ASGITransport(app=app)
    async with vitrine_sdk.AsyncClient(
        secret, base_url="http://testserver", transport=transport
    ) as client:
        await client.offers.create(**BOOK)
        link = await client.checkout_links.create("ebook", customer_email="paid@example.com")
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
            assert (await press(web, f"/pay/sandbox/{link.order.id}", "pay")).status_code == 303
        # Paying with an e-mail granted access already, to that e-mail.
        [grant] = await client.access.list(order=link.order.id)
        assert (grant.customer_email, grant.status) == ("paid@example.com", "active")
        with pytest.raises(vitrine_sdk.ConflictError):
            await client.access.grant(order=link.order.id, email="someone@example.com")
        revoked = await client.access.revoke(grant.id)
        assert revoked.status == "revoked"
        assert await client.access.list(email="paid@example.com") == [revoked]
        with pytest.raises(vitrine_sdk.ConflictError):
            await client.access.revoke(grant.id)
        with pytest.raises(vitrine_sdk.NotFoundError):
            await client.access.list(order="ord_missing")


async def test_orders_are_paged_and_iterated(app: Starlette, state: Runtime) -> None:
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
        made = [(await client.checkout_links.create("ebook")).order.id for _n in range(5)]
        newest_first = made[::-1]
        first = await client.orders.list(limit=2)
        assert [o.id for o in first] == newest_first[:2]
        second = await client.orders.list(limit=2, starting_after=first[-1].id)
        assert [o.id for o in second] == newest_first[2:4]
        assert first[0].offer == "ebook" and first[0].updated_at == first[0].created_at

        sent.clear()
        assert [o.id async for o in client.orders.iter(page_size=2)] == newest_first
        pages = [r.url.params.get("starting_after") for r in sent]
        assert pages == [None, newest_first[1], newest_first[3]]
        assert [o.id async for o in client.orders.iter(status="paid")] == []
        with pytest.raises(vitrine_sdk.UnprocessableEntityError):
            await client.orders.list(starting_after="ord_missing")
        with pytest.raises(ValueError):
            await client.orders.list(starting_after="")


def test_sync_iteration_pages_through_a_live_server(live_server: LiveServer) -> None:
    secret, _site_key = seed(live_server, make_secret)
    with vitrine_sdk.Client(secret, base_url=live_server.url) as client:
        client.offers.create(**EBOOK)
        made = [client.checkout_links.create("ebook").order.id for _n in range(3)]
        assert [o.id for o in client.orders.iter(page_size=2)] == made[::-1]
        assert [o.id for o in client.orders.list(starting_after=made[1])] == [made[0]]
