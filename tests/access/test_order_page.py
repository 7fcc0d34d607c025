"""The buyer's order page says what happens next: where the access link went, that it comes once
a delayed payment is confirmed, or that the seller gives access by hand."""

from __future__ import annotations

import html
import re

import httpx

from tests.access.test_access import checkout, links_sent, pay
from tests.conftest import SiteTeam
from tests.payments.conftest import make_offer
from widget_server.access import service as access
from widget_server.payments.checkout import open_checkout
from widget_server.runtime import Runtime


def note_of(page: str) -> str:
    found = re.findall(r'<p class="buyer-note" data-note>(.*?)</p>', page, re.S)
    assert len(found) <= 1, found
    return html.unescape(re.sub(r"<[^>]+>", "", found[0])).strip() if found else ""


async def test_a_paid_order_says_where_the_link_went_without_showing_the_whole_address(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    order = await checkout(state, team, "jeanne.martin@example.com")
    await pay(client, order)
    page = await client.get(f"/pay/order/{order.public_id}")
    note = note_of(page.text)
    assert "j•••n@example.com" in note and "jeanne.martin" not in page.text
    assert "within 7 days" in note
    assert f'href="/account/link?site={team.site.key}"' in page.text
    assert 'http-equiv="refresh"' not in page.text
    # The note is in the buyer's language.
    french = await client.get(f"/pay/order/{order.public_id}", headers={"Accept-Language": "fr"})
    assert "j•••n@example.com" in note_of(french.text)
    assert "7 jours" in note_of(french.text)


async def test_a_delayed_payment_promises_the_link_and_the_page_looks_again(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    order = await checkout(state, team, "slow@example.com")
    await pay(client, order, "later")
    page = await client.get(f"/pay/order/{order.public_id}")
    assert "Once the payment is confirmed" in note_of(page.text)
    assert '<meta http-equiv="refresh" content="10">' in page.text
    await pay(client, order, "confirm")
    confirmed = await client.get(f"/pay/order/{order.public_id}")
    assert "s•••w@example.com" in note_of(confirmed.text)
    assert 'http-equiv="refresh"' not in confirmed.text
    assert len(await links_sent(state, "slow@example.com")) == 1


async def test_no_email_from_the_payment_gives_the_reference_until_an_admin_grants(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    order = await checkout(state, team, None)
    await pay(client, order)
    note = note_of((await client.get(f"/pay/order/{order.public_id}")).text)
    assert "did not tell us your e-mail" in note and order.public_id in note
    await access.grant_manually(team.access(), state, order.public_id, "wallet@example.com")
    granted = note_of((await client.get(f"/pay/order/{order.public_id}")).text)
    assert "w•••t@example.com" in granted


async def test_failed_refunded_or_plain_orders_have_no_note(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    failed = await checkout(state, team, "nope@example.com")
    await pay(client, failed, "fail")
    assert note_of((await client.get(f"/pay/order/{failed.public_id}")).text) == ""

    plain = await make_offer(state, team, slug="donation", name="A donation")
    order, _url = await open_checkout(state, plain, customer_email="kind@example.com")
    await pay(client, order)
    page = await client.get(f"/pay/order/{order.public_id}")
    assert page.status_code == 200 and 'data-result="success"' in page.text
    assert note_of(page.text) == ""


def test_the_address_is_masked_but_recognisable() -> None:
    assert access.masked("jeanne.martin@example.com") == "j•••n@example.com"
    assert access.masked("ab@example.com") == "a•••@example.com"
    assert access.masked("a@example.com") == "a•••@example.com"
