"""Buy buttons in a real Chromium: the counter loads buy.js only on pages that use it, the buttons
show the offer's name and price, and a click (or ``vitrine('buy', slug)``) ends on the sandbox
payment page with an order for the counter's visit."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import LiveServer, seed
from tests.js.conftest import loaded, page_errors, wait_stored
from tests.js.pages import SitePages
from widget_server.accounts.models import Site
from widget_server.payments import offers, service
from widget_server.payments.models import Order
from widget_server.runtime import Runtime

pytestmark = pytest.mark.browser

OFFERS = (("taster", "Taster bag", 1400), ("regular", "Regular", 2600), ("office", "Office", 9800))
SANDBOX = re.compile(r"/pay/sandbox/(ord_[A-Za-z0-9_-]+)$")


@pytest.fixture
def shop(counting_server: LiveServer, open_site: Callable[..., Site]) -> Site:
    """A site counting Playwright's Chromium, with three offers guests may buy by card (the
    sandbox: no Stripe key) and one for customers only."""
    site = open_site()

    async def make(state: Runtime) -> None:
        for slug, name, amount in OFFERS:
            body = {"slug": slug, "name": name, "amount": amount, "currency": "eur"}
            await offers.create_site_offer(state.engine, site.id, body)
        members = {"slug": "members", "name": "Club", "amount": 100, "currency": "eur"}
        await offers.create_site_offer(state.engine, site.id, {**members, "guest_allowed": False})

    seed(counting_server, make)
    return site


def requested(page: Any) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls


def console_errors(page: Any) -> list[str]:
    """Console errors, less Chromium's own line for an answer with an error status (the 404 of
    an unknown offer is the expected answer, read by the script)."""
    found: list[str] = []

    def seen(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            found.append(message.text)

    page.on("console", seen)
    return found


def buy_modules(urls: list[str]) -> list[str]:
    return [url for url in urls if "/static/dist/buy.js" in url]


def ready(page: Any, element_id: str) -> None:
    page.wait_for_selector(f"#{element_id}[data-vitrine-ready]", state="attached")


def visit_of(page: Any) -> int:
    page.wait_for_function("window.vitrine && window.vitrine.visit > 0")
    visit: int = page.evaluate("vitrine.visit")
    return visit


def paid_order(page: Any, server: LiveServer) -> Order:
    """The order of the sandbox payment page the browser ended on."""
    page.wait_for_url(SANDBOX)
    assert page.get_by_text("Sandbox — no real money moves").count() == 1
    match = SANDBOX.search(page.url)
    assert match
    order = seed(server, lambda state: service.order_by_public_id(state.engine, match.group(1)))
    assert order is not None
    return order


def test_each_buy_element_gets_a_button_with_the_offers_name_and_price(
    page: Any, pages: SitePages, shop: Site
) -> None:
    errors = page_errors(page)
    urls = requested(page)
    page.goto(pages.url("buy.html"))
    ready(page, "taster")
    ready(page, "regular")
    taster = page.locator("#taster button")
    assert taster.text_content() == "Buy Taster bag · €14.00"
    assert page.locator("#regular button").text_content() == "Buy Regular · €26.00"
    # The page's CSS (button hidden, 2px transparent text) does not reach into the shadow root.
    assert taster.is_visible() and taster.is_enabled()
    box = taster.bounding_box()
    assert box is not None and box["height"] > 20
    assert taster.evaluate("b => getComputedStyle(b).color") == "rgb(255, 255, 255)"
    # One module, one offer.json per slug (two elements ask for the unknown one).
    assert len(buy_modules(urls)) == 1
    offer_urls = sorted(url.rsplit("/", 2)[-2] for url in urls if url.endswith("/offer.json"))
    assert offer_urls == ["no-such-offer", "office", "regular", "taster"]
    assert errors == []


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("buy-fr.html", r"Acheter Taster bag · 14,00\s€"),
        ("buy-ru.html", r"Купить Taster bag · 14,00\s€"),
        ("buy-badlang.html", r"Buy Taster bag · €14\.00"),  # the browser's locale (en-US)
    ],
)
def test_the_label_follows_the_pages_language(
    page: Any, pages: SitePages, shop: Site, fixture: str, expected: str
) -> None:
    errors = page_errors(page)
    page.goto(pages.url(fixture))
    ready(page, "taster")
    label = page.locator("#taster button").text_content()
    assert re.fullmatch(expected, label or ""), label
    assert errors == []


def test_an_element_parsed_after_the_counter_ran_gets_its_button(
    page: Any, pages: SitePages, shop: Site
) -> None:
    """The counter, loaded without async in <head>, looks again at DOMContentLoaded."""
    urls = requested(page)
    page.goto(pages.url("buy-late.html"))
    assert page.evaluate("window.seenAtCounter") is True  # it ran before the element existed
    ready(page, "taster")
    assert page.locator("#taster button").text_content() == "Buy Taster bag · €14.00"
    assert len(buy_modules(urls)) == 1


def test_buy_js_is_not_loaded_on_a_page_without_buy_elements(
    page: Any, pages: SitePages, shop: Site
) -> None:
    urls = requested(page)
    page.goto(pages.url("page.html"))
    loaded(page)
    visit_of(page)
    page.wait_for_load_state("networkidle")
    assert [url for url in urls if "/s/" in url]  # the counter itself was loaded
    assert buy_modules(urls) == []
    assert page.evaluate("vitrine.b") is None


def test_a_click_pays_for_the_counters_visit(
    page: Any, pages: SitePages, shop: Site, counting_server: LiveServer
) -> None:
    errors = page_errors(page)
    page.goto(pages.url("buy.html"))
    ready(page, "regular")
    visit = visit_of(page)
    page.locator("#regular button").click()
    order = paid_order(page, counting_server)
    assert (order.site_id, order.amount, order.status) == (shop.id, 2600, "pending")
    assert order.visit_number == visit
    assert errors == []


def test_the_owners_content_is_the_label_and_starts_checkout(
    page: Any, pages: SitePages, shop: Site, counting_server: LiveServer
) -> None:
    page.goto(pages.url("buy.html"))
    ready(page, "office")
    assert page.evaluate("document.getElementById('office').shadowRoot") is None
    assert page.locator("#office").inner_text() == "Order for the office"
    visit = visit_of(page)
    page.locator("#office-link").click()
    order = paid_order(page, counting_server)
    assert (order.amount, order.visit_number) == (9800, visit)


def test_an_unknown_offer_leaves_a_disabled_button_and_the_owners_fallback(
    page: Any, pages: SitePages, shop: Site
) -> None:
    errors = page_errors(page)
    logged = console_errors(page)
    with page.expect_response(lambda r: r.url.endswith("/no-such-offer/offer.json")) as answer:
        page.goto(pages.url("buy.html"))
    assert answer.value.status == 404
    ready(page, "taster")  # the known ones are ready, the unknown ones never are
    page.wait_for_timeout(200)
    unknown = page.locator("#unknown button")
    assert unknown.text_content() == "Buy"
    assert unknown.is_disabled()
    assert page.locator("[data-vitrine-ready]").count() == 3
    # The owner's link still does what it does without Vitrine.
    page.locator("#unknown-link").click()
    page.wait_for_url(re.compile(r"/buy\.html#contact$"))
    assert errors == [] and logged == []


def test_vitrine_buy_loads_the_module_and_starts_checkout(
    page: Any, pages: SitePages, shop: Site, counting_server: LiveServer
) -> None:
    urls = requested(page)
    page.goto(pages.url("page.html"))
    loaded(page)
    visit = visit_of(page)
    assert buy_modules(urls) == []
    page.evaluate("vitrine('buy', 'taster')")
    order = paid_order(page, counting_server)
    assert len(buy_modules(urls)) == 1
    assert (order.amount, order.visit_number) == (1400, visit)


def test_vitrine_buy_without_a_slug_mounts_elements_added_later(
    page: Any, pages: SitePages, shop: Site
) -> None:
    urls = requested(page)
    page.goto(pages.url("page.html"))
    loaded(page)
    page.evaluate(
        """() => {
            const el = document.createElement("div");
            el.id = "later";
            el.setAttribute("data-vitrine-buy", "office");
            document.body.append(el);
            vitrine("buy");
        }"""
    )
    ready(page, "later")
    assert page.locator("#later button").text_content() == "Buy Office · €98.00"
    assert len(buy_modules(urls)) == 1
    assert page.url == pages.url("page.html")  # no checkout without a slug


def test_a_buy_queued_before_the_counter_loads_waits_for_the_visit(
    page: Any, pages: SitePages, shop: Site, counting_server: LiveServer
) -> None:
    page.goto(pages.url("buy-queued.html"))
    order = paid_order(page, counting_server)
    stored = wait_stored(counting_server, shop, lambda found: len(found.visits) == 1)
    assert order.amount == 2600
    assert order.visit_number == stored.visits[0]["number"]
