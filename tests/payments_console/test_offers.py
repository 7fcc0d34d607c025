"""The console's Offers tab over HTTP: list, create, edit, switch off and on; admins only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import SiteTeam, log_in
from tests.console.conftest import row_with, text_of
from tests.payments.conftest import make_offer
from tests.payments_console.conftest import Admin
from widget_server.errors import InvalidRequest, NotFound
from widget_server.payments import money, offers
from widget_server.runtime import Runtime


def form(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Yoga course",
        "slug": "yoga",
        "description": "Ten lessons.",
        "price": "19.90",
        "currency": "EUR",
        "grant_kind": "url",
        "grant_value": "https://example.com/yoga",
        "guest_allowed": "1",
        "methods": ["card", "bank_transfer"],
        "bank_instructions": "IBAN FR76 0000",
        "success_text": "Welcome aboard!",
        "failure_text": "Nothing was charged.",
    }
    base.update(values)
    return {k: v for k, v in base.items() if v is not None}


async def post_form(admin: Admin, path: str, **values: Any) -> httpx.Response:
    return await admin.http.post(
        admin.base + path,
        data={"csrf_token": admin.csrf, **form(**values)},
        headers={"accept": "text/html"},
    )


async def test_the_offers_tab_lists_offers(state: Runtime, team: SiteTeam, admin: Admin) -> None:
    await make_offer(state, team, methods=["card", "cash"], guest_allowed=False)
    await make_offer(state, team, slug="ramen", name="Ramen class", amount=1500, currency="jpy")
    page = await admin.get("/offers")
    assert page.status_code == 200
    assert f'href="/console/sites/{team.site.key}/offers" aria-current="page"' in page.text
    ebook = text_of(row_with(page.text, 'data-offer="ebook"'))
    assert "The e-book" in ebook and "15.00 EUR" in ebook and "On sale" in ebook
    assert "No" in ebook and "Card, Cash" in ebook
    assert "1,500 JPY" in text_of(row_with(page.text, 'data-offer="ramen"'))


async def test_an_admin_creates_an_offer_with_every_field(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    assert (await admin.get("/offers/new")).status_code == 200
    response = await post_form(admin, "/offers")
    assert response.status_code == 303, response.text
    offer = await offers.get_offer(state.engine, team.site.id, "yoga")
    assert (offer.name, offer.description, offer.amount, offer.currency) == (
        "Yoga course",
        "Ten lessons.",
        1990,
        "eur",
    )
    assert offer.grants == {"kind": "url", "value": "https://example.com/yoga"}
    assert offer.guest_allowed and offer.active
    assert offer.methods == ["card", "bank_transfer"]
    assert offer.bank_instructions == "IBAN FR76 0000"
    assert (offer.success_text, offer.failure_text) == ("Welcome aboard!", "Nothing was charged.")
    listing = await admin.get("/offers")
    assert "Offer Yoga course created." in text_of(listing.text)


async def test_a_bad_offer_form_comes_back_with_each_field_explained(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    response = await post_form(
        admin,
        "/offers",
        name=" ",
        slug="Not a slug!",
        price="12.345",
        currency="euro",
        grant_value="",
        methods=None,
        success_text="x" * 5001,
    )
    assert response.status_code == 422
    text = text_of(response.text)
    assert "Check the fields marked below." in text
    for field in ("name", "slug", "amount", "currency", "grants", "methods", "success_text"):
        assert f'id="{field}-errors"' in response.text, field
    assert "The slug must be 1 to 64 characters" in text
    assert "Say what the buyer gets" in text
    # What was typed is kept.
    assert 'value="Not a slug!"' in response.text and 'value="12.345"' in response.text
    assert await offers.list_offers(state.engine, team.site.id) == []


@pytest.mark.parametrize("price", ["abc", "0", "-5", "1e3", "19.999"])
async def test_a_price_that_is_not_a_price_is_refused(admin: Admin, price: str) -> None:
    response = await post_form(admin, "/offers", price=price)
    assert response.status_code == 422
    assert "Enter the price as a positive number with at most 2 decimals." in text_of(response.text)


async def test_prices_follow_the_currency_decimals(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    refused = await post_form(admin, "/offers", price="1500.5", currency="jpy")
    assert "at most 0 decimals" in text_of(refused.text)
    assert (await post_form(admin, "/offers", price="1500", currency="JPY")).status_code == 303
    assert (await offers.get_offer(state.engine, team.site.id, "yoga")).amount == 1500


async def test_a_taken_slug_is_shown_at_the_slug_field(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    await make_offer(state, team, slug="yoga")
    response = await post_form(admin, "/offers")
    assert response.status_code == 422
    assert 'id="slug-errors"' in response.text
    assert "An offer with this slug already exists." in text_of(response.text)


async def test_editing_changes_the_fields_but_never_the_slug(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    await make_offer(state, team, grants={"kind": "page", "value": "Chapter one"})
    page = await admin.get("/offers/ebook/edit")
    assert page.status_code == 200
    assert 'value="15.00"' in page.text and "Chapter one" in page.text
    response = await post_form(
        admin, "/offers/ebook/edit", slug="other", price="20", grant_kind="", methods=["cash"]
    )
    assert response.status_code == 303, response.text
    offer = await offers.get_offer(state.engine, team.site.id, "ebook")
    assert (offer.name, offer.amount, offer.grants, offer.methods) == (
        "Yoga course",
        2000,
        None,
        ["cash"],
    )
    with pytest.raises(NotFound):
        await offers.get_offer(state.engine, team.site.id, "other")


async def test_a_bad_edit_changes_nothing(state: Runtime, team: SiteTeam, admin: Admin) -> None:
    await make_offer(state, team)
    response = await post_form(admin, "/offers/ebook/edit", price="", name="Renamed")
    assert response.status_code == 422
    assert 'id="amount-errors"' in response.text
    assert (await offers.get_offer(state.engine, team.site.id, "ebook")).name == "The e-book"
    missing = await post_form(admin, "/offers/nope/edit")
    assert missing.status_code == 404
    assert (await admin.get("/offers/nope/edit")).status_code == 404


async def test_an_offer_is_taken_off_sale_and_back(
    state: Runtime, team: SiteTeam, admin: Admin
) -> None:
    await make_offer(state, team)
    assert (await admin.post("/offers/ebook/deactivate")).status_code == 303
    assert not (await offers.get_offer(state.engine, team.site.id, "ebook")).active
    page = await admin.get("/offers")
    assert "Offer The e-book is no longer on sale." in text_of(page.text)
    assert "Off sale" in text_of(row_with(page.text, 'data-offer="ebook"'))
    assert (await admin.post("/offers/ebook/activate")).status_code == 303
    assert (await offers.get_offer(state.engine, team.site.id, "ebook")).active
    assert (await admin.post("/offers/nope/activate")).status_code == 404


async def test_update_site_offer_changes_only_what_it_is_given(
    state: Runtime, team: SiteTeam
) -> None:
    made = await make_offer(state, team, methods=["card", "cash"])
    with pytest.raises(InvalidRequest) as moved:
        await offers.update_site_offer(
            state.engine, team.site.id, "ebook", {"amount": 990, "slug": "moved"}
        )
    assert [d["field"] for d in moved.value.details] == ["slug"]
    updated = await offers.update_site_offer(state.engine, team.site.id, "ebook", {"amount": 990})
    assert updated.slug == "ebook" and updated.amount == 990
    assert (updated.name, updated.methods, updated.currency) == (made.name, made.methods, "eur")
    with pytest.raises(InvalidRequest) as bad:
        await offers.update_site_offer(
            state.engine, team.site.id, "ebook", {"amount": 0, "methods": []}
        )
    assert {d["field"] for d in bad.value.details} == {"amount", "methods"}
    with pytest.raises(NotFound):
        await offers.update_site_offer(state.engine, team.site.id, "nope", {"name": "x"})


@pytest.mark.parametrize(
    ("amount", "currency", "typed", "shown", "in_french"),
    [
        (1900, "eur", "19.00", "19.00 EUR", "19,00 EUR"),
        (5, "usd", "0.05", "0.05 USD", "0,05 USD"),
        (500, "jpy", "500", "500 JPY", "500 JPY"),
        (1234, "kwd", "1.234", "1.234 KWD", "1,234 KWD"),
        (123456789, "eur", "1234567.89", "1,234,567.89 EUR", "1\u202f234\u202f567,89 EUR"),
    ],
)
def test_amounts_are_shown_with_the_currency_decimals(
    amount: int, currency: str, typed: str, shown: str, in_french: str
) -> None:
    nbsp = "\u00a0"  # between the amount and its code, so a line never breaks there
    assert money.format_amount(amount, currency, "en") == shown.replace(" ", nbsp)
    assert money.format_amount(amount, currency, "fr") == in_french.replace(" ", nbsp)
    assert money.price_text(amount, currency) == typed
    assert money.parse_amount(typed, currency) == amount


async def test_an_operator_cannot_open_or_use_the_offers_tab(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    await make_offer(state, team)
    csrf = await log_in(client, "operator@example.com")
    base = f"/console/sites/{team.site.key}/offers"
    home = await client.get(f"/console/sites/{team.site.key}/chats")
    assert home.status_code == 200
    assert f'href="{base}"' not in home.text
    for path in ("", "/new", "/ebook/edit"):
        assert (await client.get(base + path)).status_code == 403, path
    for path in ("", "/ebook/edit", "/ebook/deactivate"):
        response = await client.post(base + path, data={"csrf_token": csrf, **form()})
        assert response.status_code == 403, path
    assert (await offers.get_offer(state.engine, team.site.id, "ebook")).active
    assert len(await offers.list_offers(state.engine, team.site.id)) == 1
