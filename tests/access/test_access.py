"""Payment without login: grants, the e-mailed single-use link, /account — through the app."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import SiteTeam, csrf_from
from tests.payments.conftest import make_offer, queued
from tests.payments.test_sandbox import press
from widget_server.access import service as access
from widget_server.access import store
from widget_server.db.metadata import utcnow
from widget_server.errors import Conflict
from widget_server.outbox.tables import outbox as outbox_table
from widget_server.payments import offers
from widget_server.payments import service as payments
from widget_server.payments.checkout import open_checkout
from widget_server.payments.models import Offer, Order, PaymentEvent
from widget_server.runtime import Runtime

GRANTS = {"kind": "url", "value": "https://example.com/book.pdf"}
_LINK = re.compile(r"/access/([A-Za-z0-9_-]+)")
PASSWORD = "a long enough secret"


async def checkout(state: Runtime, team: SiteTeam, email: str | None) -> Order:
    offer = await make_offer(state, team, grants=GRANTS)
    order, _url = await open_checkout(state, offer, customer_email=email)
    return order


async def links_sent(state: Runtime, to: str) -> list[str]:
    async with state.engine.connect() as conn:
        rows = await conn.execute(
            select(outbox_table.c.payload)
            .where(outbox_table.c.topic == "access_link", outbox_table.c.target == to)
            .order_by(outbox_table.c.id)
        )
        found = []
        for (payload,) in rows:
            match = _LINK.search(payload["text"])
            assert match, payload
            found.append("/access/" + match.group(1))
        return found


async def pay(client: httpx.AsyncClient, order: Order, action: str = "pay") -> None:
    response = await press(client, f"/pay/sandbox/{order.public_id}", action)
    assert response.status_code == 303


async def set_password(client: httpx.AsyncClient, link: str) -> httpx.Response:
    opened = await client.get(link)
    assert opened.status_code == 303
    assert opened.headers["location"] == "/account/password"
    form = await client.get("/account/password")
    token = csrf_from(form.text)
    data = {"csrf_token": token, "password": PASSWORD, "password_again": PASSWORD}
    return await client.post("/account/password", data=data)


async def test_paid_guest_order_gives_access_by_link(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    order = await checkout(state, team, "Buyer@Example.com")
    await pay(client, order)
    [link] = await links_sent(state, "buyer@example.com")
    saved = await set_password(client, link)
    assert saved.status_code == 303 and saved.headers["location"] == "/account"
    account = await client.get("/account")
    assert account.status_code == 200
    assert "https://example.com/book.pdf" in account.text
    assert order.public_id in account.text
    again = await client.get(link)
    assert again.status_code == 410
    assert "already used" in again.text and 'action="/account/link"' in again.text


async def test_the_access_email_is_in_the_buyers_language(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    offer = await make_offer(state, team, grants=GRANTS)
    order, _url = await open_checkout(state, offer, customer_email="lea@example.fr", language="fr")
    await pay(client, order)
    async with state.engine.connect() as conn:
        payload = (
            await conn.execute(
                select(outbox_table.c.payload).where(outbox_table.c.target == "lea@example.fr")
            )
        ).scalar_one()
    assert payload["language"] == "fr"
    assert payload["subject"].startswith("Votre accès à")


async def test_a_new_customer_gives_the_fields_the_offer_asks_for(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    offer = await make_offer(state, team, grants=GRANTS, customer_fields=["phone", "name"])
    assert offer.customer_fields == ["name", "phone"]
    order, _url = await open_checkout(state, offer, customer_email="new@example.com")
    await pay(client, order)
    [link] = await links_sent(state, "new@example.com")
    assert (await client.get(link)).headers["location"] == "/account/password"
    form = await client.get("/account/password")
    assert 'name="name"' in form.text and 'name="phone"' in form.text
    data = {"csrf_token": csrf_from(form.text), "password": PASSWORD, "password_again": PASSWORD}
    missing = await client.post("/account/password", data={**data, "phone": "call me"})
    assert missing.status_code == 400
    assert "Enter your name." in missing.text and "Enter a phone number" in missing.text
    customer = await store_customer(state, "new@example.com")
    assert customer.password_hash is None  # nothing half-written
    saved = await client.post(
        "/account/password", data={**data, "name": " Zoé  Martin ", "phone": "+33 6 12 34 56 78"}
    )
    assert saved.status_code == 303
    customer = await store_customer(state, "new@example.com")
    assert (customer.name, customer.phone) == ("Zoé Martin", "+33 6 12 34 56 78")
    assert customer.password_hash is not None
    account = await client.get("/account")
    assert "The e-book" in account.text and "15.00\u00a0EUR" in account.text


async def store_customer(state: Runtime, email: str) -> store.Customer:
    async with state.engine.connect() as conn:
        [found] = await store.customers_by_email(conn, None, email)
    return found


async def test_a_logged_in_customer_buys_a_members_only_offer_as_themselves(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    order = await checkout(state, team, "member@example.com")
    await pay(client, order)
    [link] = await links_sent(state, "member@example.com")
    await set_password(client, link)
    await make_offer(state, team, slug="members", guest_allowed=False, grants=GRANTS)
    bought = await client.get(f"/pay/{team.site.key}/members")
    assert bought.status_code == 303
    newest = (await payments.list_orders(state.engine, team.site.id, None, 1))[0]
    assert (newest.offer_slug, newest.customer_email) == ("members", "member@example.com")
    await client.post(
        "/account/logout", data={"csrf_token": csrf_from((await client.get("/account")).text)}
    )
    assert (await client.get(f"/pay/{team.site.key}/members")).status_code == 404


async def test_short_or_different_passwords_are_refused(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    order = await checkout(state, team, "buyer@example.com")
    await pay(client, order)
    [link] = await links_sent(state, "buyer@example.com")
    await client.get(link)
    token = csrf_from((await client.get("/account/password")).text)
    short = {"csrf_token": token, "password": "short", "password_again": "short"}
    assert (await client.post("/account/password", data=short)).status_code == 400
    differ = {"csrf_token": token, "password": PASSWORD, "password_again": PASSWORD + "x"}
    assert (await client.post("/account/password", data=differ)).status_code == 400
    forged = {"csrf_token": "nope", "password": PASSWORD, "password_again": PASSWORD}
    assert (await client.post("/account/password", data=forged)).status_code == 403


async def test_expired_link_is_refused(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    order = await checkout(state, team, "buyer@example.com")
    await pay(client, order)
    [link] = await links_sent(state, "buyer@example.com")
    [purchase_customer] = await _grants(state, order)
    await access.expire_links(state.engine, purchase_customer, utcnow() - timedelta(seconds=1))
    refused = await client.get(link)
    assert refused.status_code == 410 and "expired" in refused.text
    assert (await client.get("/account")).headers["location"] == "/account/link"


async def _grants(state: Runtime, order: Order) -> list[int]:
    """The customer ids holding the order's grant."""
    async with state.engine.connect() as conn:
        grant = await store.grant_of_order(conn, order.id)
    return [grant.customer_id] if grant else []


async def test_the_payment_email_wins_over_another_customer(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    first = await checkout(state, team, "first@example.com")
    await pay(client, first)
    second, _url = await open_checkout(
        state,
        await _offer(state, team),
        customer_email="other@example.com",
    )
    await pay(client, second)
    [customer_first] = await _grants(state, first)
    [customer_second] = await _grants(state, second)
    assert customer_first != customer_second
    assert len(await links_sent(state, "other@example.com")) == 1


async def test_the_email_reported_by_the_payment_wins(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    typed = await checkout(state, team, "typed@example.com")
    wallet = await payments.create_order(
        state.engine, await _offer(state, team), gateway="sandbox", method="card"
    )
    for order, email in ((typed, "Paid@Example.com"), (wallet, "wallet@example.com")):
        event = PaymentEvent(
            kind="completed_paid",
            event_id="evt_" + order.public_id,
            order_ref=order.public_id,
            payment_id="pi_" + order.public_id,
            email=email,
        )
        await payments.apply_event(state, "sandbox", event)
    assert await links_sent(state, "typed@example.com") == []
    [link] = await links_sent(state, "paid@example.com")
    assert len(await links_sent(state, "wallet@example.com")) == 1
    assert await access.flagged_orders(team.access(), state.engine) == []
    await set_password(client, link)
    assert typed.public_id in (await client.get("/account")).text


async def test_admin_revokes_and_moves_a_grant(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, hooked: None
) -> None:
    order = await checkout(state, team, "buyer@example.com")
    await pay(client, order)
    [customer_id] = await _grants(state, order)
    async with state.engine.connect() as conn:
        grant = await store.grant_of_order(conn, order.id)
    assert grant is not None
    moved = await access.move(team.access(), state, grant.id, "friend@example.com")
    assert moved.customer_id != customer_id
    [link] = await links_sent(state, "friend@example.com")
    await set_password(client, link)
    assert "https://example.com/book.pdf" in (await client.get("/account")).text
    revoked = await access.revoke(team.access(), state.engine, grant.id)
    assert revoked.status == "revoked" and await queued(state, "access.revoked") == 1
    assert "https://example.com/book.pdf" not in (await client.get("/account")).text
    with pytest.raises(Conflict):
        await access.revoke(team.access(), state.engine, grant.id)


async def _offer(state: Runtime, team: SiteTeam) -> Offer:
    return await offers.get_offer(state.engine, team.site.id, "ebook")


async def test_delayed_payment_grants_on_confirmation(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    order = await checkout(state, team, "slow@example.com")
    await pay(client, order, "later")
    assert await _grants(state, order) == []
    assert await links_sent(state, "slow@example.com") == []
    await pay(client, order, "confirm")
    assert len(await _grants(state, order)) == 1
    assert len(await links_sent(state, "slow@example.com")) == 1


async def test_no_email_flags_the_order_then_grant_manually(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    order = await checkout(state, team, None)
    await pay(client, order)
    assert await _grants(state, order) == []
    flagged = await access.flagged_orders(team.access(), state.engine)
    assert [o.public_id for o in flagged] == [order.public_id]
    grant = await access.grant_manually(team.access(), state, order.public_id, "wallet@example.com")
    assert grant.status == "active"
    assert await access.flagged_orders(team.access(), state.engine) == []
    [link] = await links_sent(state, "wallet@example.com")
    await set_password(client, link)
    assert "https://example.com/book.pdf" in (await client.get("/account")).text


async def test_refund_revokes_the_access(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, hooked: None
) -> None:
    order = await checkout(state, team, "buyer@example.com")
    await pay(client, order)
    [link] = await links_sent(state, "buyer@example.com")
    await set_password(client, link)
    assert await queued(state, "access.granted") == 1
    await payments.refund(state, None, team.site.id, order.public_id, None)
    assert await queued(state, "access.revoked") == 1
    account = await client.get("/account")
    assert "https://example.com/book.pdf" not in account.text


async def test_redelivered_fulfilment_grants_once(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, hooked: None
) -> None:
    order = await checkout(state, team, "buyer@example.com")
    event = PaymentEvent(
        kind="completed_paid", event_id="sbx_evt_same", order_ref=order.public_id, payment_id="pi1"
    )
    await payments.apply_event(state, "sandbox", event)
    await payments.apply_event(state, "sandbox", event)
    other = PaymentEvent(
        kind="async_succeeded",
        event_id="sbx_evt_other",
        order_ref=order.public_id,
        payment_id="pi1",
    )
    await payments.apply_event(state, "sandbox", other)
    assert len(await links_sent(state, "buyer@example.com")) == 1
    assert await queued(state, "access.granted") == 1


async def test_account_without_session_asks_for_the_email(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    order = await checkout(state, team, "buyer@example.com")
    await pay(client, order)
    response = await client.get("/account")
    assert response.status_code == 303 and response.headers["location"] == "/account/link"
    page = await client.get("/account/link")
    assert 'name="email"' in page.text
    token = csrf_from(page.text)
    answers = []
    for email in ("buyer@example.com", "nobody@example.com"):
        sent = await client.post("/account/link", data={"csrf_token": token, "email": email})
        assert sent.status_code == 200
        answers.append(sent.text.replace(email, ""))
    assert "a link is on its way" in answers[0] and answers[0] == answers[1]
    assert len(await links_sent(state, "buyer@example.com")) == 2
    for _ in range(6):
        await client.post("/account/link", data={"csrf_token": token, "email": "buyer@example.com"})
    assert len(await links_sent(state, "buyer@example.com")) == 5  # 5 an hour
