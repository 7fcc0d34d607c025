"""Buy buttons, the server's side: the offer's label (``/pay/KEY/SLUG/offer.json``), the visit
number a button sends to the direct payment link (``?visit=N``), and the counter config's ``y``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from tests.conftest import SiteTeam
from tests.counter.conftest import STAND_IN, baked_config
from tests.payments.conftest import issued_visit, make_offer
from widget_server.payments import buy, service
from widget_server.runtime import Runtime

SHOP = "https://shop.example.com"  # the team site's allowed origin


async def test_offer_json_answers_the_label_with_cors_for_the_sites_origin(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    await make_offer(state, team, name="The e-book", amount=1500, currency="eur")
    response = await client.get(f"/pay/{team.site.key}/ebook/offer.json", headers={"Origin": SHOP})
    assert response.status_code == 200
    assert response.json() == {"name": "The e-book", "amount": 1500, "currency": "eur"}
    assert response.headers["access-control-allow-origin"] == SHOP
    assert "Origin" in response.headers["vary"]

    # Public (like the pay link), but only the site's own origins may read it from a page.
    other = await client.get(
        f"/pay/{team.site.key}/ebook/offer.json", headers={"Origin": "https://evil.example"}
    )
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("slug", ["members", "retired", "missing", "NOT-A-SLUG"])
async def test_offer_json_is_a_404_in_the_error_shape_unless_guests_can_buy(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, slug: str
) -> None:
    await make_offer(state, team, slug="members", guest_allowed=False)
    await make_offer(state, team, slug="retired", active=False)
    response = await client.get(f"/pay/{team.site.key}/{slug}/offer.json", headers={"Origin": SHOP})
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (404, "not_found")
    assert error["message"]
    # The button's script can read the refusal (no CORS error in the page's console).
    assert response.headers["access-control-allow-origin"] == SHOP


async def test_offer_json_of_an_unknown_site_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/pay/nosuchsite/ebook/offer.json", headers={"Origin": SHOP})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "access-control-allow-origin" not in response.headers


async def only_order_visit(state: Runtime, team: SiteTeam) -> int | None:
    [order] = await service.list_orders(state.engine, team.site.id, None, 10)
    return order.visit_number


async def test_the_pay_link_takes_the_visit_from_the_query_over_the_cookie(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    await make_offer(state, team)
    first, second = await issued_visit(state, team), await issued_visit(state, team)
    client.cookies.set("_vt", f"{first}.1700000000000.")
    response = await client.get(f"/pay/{team.site.key}/ebook?visit={second}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("http://testserver/pay/sandbox/ord_")
    assert await only_order_visit(state, team) == second


async def test_a_visit_the_counter_never_gave_out_is_ignored(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    """A made-up number (or another site's) must not credit a source with the sale."""
    await make_offer(state, team)
    issued = await issued_visit(state, team)
    response = await client.get(f"/pay/{team.site.key}/ebook?visit={issued + 100_000}")
    assert response.status_code == 303
    assert await only_order_visit(state, team) is None
    client.cookies.set("_vt", "999.1700000000000.")  # below the first number (1000)
    await client.get(f"/pay/{team.site.key}/ebook")
    orders = await service.list_orders(state.engine, team.site.id, None, 10)
    assert [order.visit_number for order in orders] == [None, None]


@pytest.mark.parametrize(
    ("query", "cookie", "expected"),
    [
        ("visit=0", "{issued}.1700000000000.", "issued"),
        ("visit=-3", "{issued}.1700000000000.", "issued"),
        ("visit=abc", None, None),
        ("visit=1.5", None, None),
        ("visit=%C2%B2", None, None),  # "²" is a digit to str.isdigit, not to int()
        ("visit=1234567890", None, None),
        ("visit=", None, None),
    ],
)
async def test_a_visit_that_is_not_a_positive_number_is_ignored(
    state: Runtime,
    team: SiteTeam,
    client: httpx.AsyncClient,
    query: str,
    cookie: str | None,
    expected: str | None,
) -> None:
    await make_offer(state, team)
    issued = await issued_visit(state, team)
    if cookie:
        client.cookies.set("_vt", cookie.format(issued=issued))
    response = await client.get(f"/pay/{team.site.key}/ebook?{query}")
    assert response.status_code == 303
    assert await only_order_visit(state, team) == (issued if expected else None)


async def test_a_bad_visit_cookie_is_ignored_too(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient
) -> None:
    await make_offer(state, team)
    # "²" (latin-1, as headers are read) is a digit to str.isdigit, not to int().
    cookie = [(b"cookie", b"_vt=\xb2.1700000000000.")]
    assert (await client.get(f"/pay/{team.site.key}/ebook", headers=cookie)).status_code == 303
    assert await only_order_visit(state, team) is None


async def test_the_counter_config_names_the_buy_module(
    state: Runtime, team: SiteTeam, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    stand_in = tmp_path / "counter.js"
    stand_in.write_text(STAND_IN)
    state.counter.scripts.source = stand_in
    config = baked_config((await client.get(f"/s/{team.site.key}.js")).text)
    version = hashlib.sha256(buy.BUY_MODULE.read_bytes()).hexdigest()[:10]
    assert config["y"] == f"http://testserver/static/dist/buy.js?v={version}"
    assert config["y"] == buy.module_url("http://testserver")
    assert config["m"] == []  # not a module every page loads
