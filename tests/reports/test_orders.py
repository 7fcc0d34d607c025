"""Paid orders and revenue in the Sources report: each order counts under the visit whose number
it carries, when that visit started in the period (whenever the order was paid); refunds come off
the revenue, which is kept per currency; unpaid orders, orders without a visit and other sites'
orders are not counted. Checked through the service, the API, the page and the CSV.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import update

from tests.conftest import SiteTeam, log_in
from tests.reports.conftest import FIRST, LAST, PERIOD, Seeded, local
from tests.reports.test_api import bearer
from tests.reports.test_console import parse_csv, rate_text, site, table_rows
from widget_server.counter import reports
from widget_server.payments import offers, service
from widget_server.payments.models import EventKind, Offer, Order, PaymentEvent
from widget_server.payments.money import format_amounts
from widget_server.payments.tables import orders
from widget_server.runtime import Runtime

NBSP = "\u00a0"
# group_by=source for 2024-03-25..31: key -> (paid orders, revenue in minor units per currency).
# Keys not listed have no paid order.
BY_SOURCE: dict[str, tuple[int, dict[str, int]]] = {
    "google": (3, {"eur": 2500, "usd": 4000}),  # 15.00 + (15.00 - 5.00 refunded) EUR, 40.00 USD
    "facebook": (1, {"eur": 0}),  # paid, then wholly refunded
    "newsletter": (1, {"jpy": 500}),  # the visit started at 23:30 on the last day
}
TOTAL = (5, {"eur": 2500, "jpy": 500, "usd": 4000})
SOURCES = ("google", "(direct)", "blog.example.org", "facebook", "newsletter", "www.google.com")


@dataclass
class Shop:
    state: Runtime
    team: SiteTeam

    async def offer(self, slug: str, amount: int, currency: str) -> Offer:
        body = {"slug": slug, "name": slug.title(), "amount": amount, "currency": currency}
        return await offers.create_offer(self.team.access(), self.state.engine, body)

    async def order(self, offer: Offer, visit: int | None) -> Order:
        return await service.create_order(
            self.state.engine, offer, gateway="sandbox", method="card", visit_number=visit
        )

    async def event(self, order: Order, kind: EventKind, amount: int | None = None) -> None:
        event = PaymentEvent(
            kind=kind,
            event_id="evt_" + secrets.token_hex(8),
            order_ref=order.public_id,
            payment_id="pi_" + order.public_id if kind == "completed_paid" else None,
            amount=order.amount if amount is None else amount,
            currency=order.currency,
        )
        await service.apply_event(self.state, "sandbox", event)

    async def paid(self, offer: Offer, visit: int | None, refunded: int = 0) -> Order:
        order = await self.order(offer, visit)
        await self.event(order, "completed_paid")
        if refunded:
            await self.event(order, "refunded", refunded)  # the gateway's cumulative total
        return order


@pytest.fixture
async def with_orders(state: Runtime, seeded: Seeded) -> Seeded:
    """Orders on the seeded visits (see conftest), all paid today, long after the period."""
    shop = Shop(state, seeded.team)
    ebook = await shop.offer("ebook", 1500, "eur")
    course = await shop.offer("course", 4000, "usd")
    stickers = await shop.offer("stickers", 500, "jpy")
    await shop.paid(ebook, 1002)  # google
    await shop.paid(ebook, 1004, refunded=500)  # google, partly refunded
    await shop.paid(course, 1004)  # google, another currency
    await shop.paid(ebook, 1005, refunded=1500)  # facebook, wholly refunded
    await shop.order(ebook, 1005)  # facebook, never paid
    await shop.event(await shop.order(ebook, 1003), "expired")  # www.google.com, expired
    await shop.event(await shop.order(ebook, 1009), "async_failed")  # blog, failed
    manual = await service.create_order(
        state.engine, stickers, gateway="manual", method="cash", visit_number=1007
    )
    await service.mark_paid(seeded.team.access(), state, manual.public_id)  # newsletter
    await shop.paid(ebook, None)  # no visit number: in no group, nor in the totals
    await shop.paid(ebook, 424242)  # a number no visit of the site has
    await shop.paid(course, 1008)  # (direct), but the visit started the day after the period
    # Paid on the 26th, inside the period, but its visit started on the 24th, before it.
    early = await shop.paid(ebook, 1001)
    async with state.engine.begin() as conn:
        await conn.execute(
            update(orders)
            .where(orders.c.id == early.id)
            .values(created_at=local(26, 12), fulfilled_at=local(26, 12))
        )
    # Another site's paid order carrying a visit number of this site's period.
    elsewhere = Shop(state, seeded.other)
    await elsewhere.paid(await elsewhere.offer("ebook", 9900, "eur"), 1002)
    return seeded


def expected(key: str) -> tuple[int, dict[str, int]]:
    return BY_SOURCE.get(key, (0, {}))


def query(first: str = FIRST.isoformat(), last: str = LAST.isoformat()) -> reports.ReportQuery:
    return reports.parse_query("Europe/Paris", from_=first, to=last, group_by="source")


# --- the service -------------------------------------------------------------------------------


async def test_paid_orders_and_revenue_per_source(state: Runtime, with_orders: Seeded) -> None:
    report = await reports.sources(with_orders.team.access(), state.engine, query())
    assert [key for key, _ in report.rows] == list(SOURCES)  # orders do not change the order
    found = {key: (counts.paid_orders, dict(counts.revenue)) for key, counts in report.rows}
    assert found == {key: expected(key) for key in SOURCES}
    assert (report.totals.paid_orders, dict(report.totals.revenue)) == TOTAL
    # Currencies come by code, whatever the order of the payments.
    assert list(report.totals.revenue) == ["eur", "jpy", "usd"]
    # The visits' own numbers are untouched by their orders.
    assert (report.totals.visits, report.totals.pageviews, report.totals.conversions) == (7, 14, 4)


async def test_the_period_is_the_visits_not_the_payments(
    state: Runtime, with_orders: Seeded
) -> None:
    """Widened by one day each side, the period takes in visit 1001 (its order paid on the
    26th) and visit 1008 (its order paid today)."""
    wider = query("2024-03-24", "2024-04-01")
    report = await reports.sources(with_orders.team.access(), state.engine, wider)
    found = {key: (counts.paid_orders, dict(counts.revenue)) for key, counts in report.rows}
    assert found["google"] == (4, {"eur": 4000, "usd": 4000})
    assert found["(direct)"] == (1, {"usd": 4000})
    assert (report.totals.paid_orders, dict(report.totals.revenue)) == (
        7,
        {"eur": 4000, "jpy": 500, "usd": 8000},
    )
    # The 26th alone: the order paid that day is not in it (its visit started on the 24th).
    day = await reports.sources(
        with_orders.team.access(), state.engine, query("2024-03-26", "2024-03-26")
    )
    assert [(key, c.paid_orders, dict(c.revenue)) for key, c in day.rows] == [
        ("www.google.com", 0, {})
    ]


async def test_by_channel_the_same_orders_add_up(state: Runtime, with_orders: Seeded) -> None:
    by_channel = reports.parse_query(
        "Europe/Paris", from_=PERIOD["from"], to=PERIOD["to"], group_by="channel"
    )
    report = await reports.sources(with_orders.team.access(), state.engine, by_channel)
    found = {key: (counts.paid_orders, dict(counts.revenue)) for key, counts in report.rows}
    assert found == {
        "ads": BY_SOURCE["google"],
        "social": BY_SOURCE["facebook"],
        "email": BY_SOURCE["newsletter"],
        "direct": (0, {}),
        "referral": (0, {}),
        "search": (0, {}),
    }
    assert (report.totals.paid_orders, dict(report.totals.revenue)) == TOTAL


async def test_the_other_site_sees_only_its_own_order(state: Runtime, with_orders: Seeded) -> None:
    report = await reports.sources(with_orders.other.access(), state.engine, query())
    assert [(key, c.visits, c.paid_orders, dict(c.revenue)) for key, c in report.rows] == [
        ("(direct)", 3, 1, {"eur": 9900})
    ]


# --- the API, the page and the CSV -------------------------------------------------------------


async def test_the_api_gives_paid_orders_and_revenue_in_minor_units(
    client: httpx.AsyncClient, state: Runtime, with_orders: Seeded
) -> None:
    response = await client.get(
        "/api/v2/reports/sources",
        params={**PERIOD, "group_by": "source"},
        headers=await bearer(state, with_orders.team),
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert [(row["key"], (row["paid_orders"], row["revenue"])) for row in data["rows"]] == [
        (key, expected(key)) for key in SOURCES
    ]
    assert (data["totals"]["paid_orders"], data["totals"]["revenue"]) == TOTAL
    assert list(data["totals"]["revenue"]) == ["eur", "jpy", "usd"]


def test_money_is_shown_per_currency_in_the_readers_language() -> None:
    assert format_amounts({"eur": 2500, "usd": 4000}, "en") == f"25.00{NBSP}EUR · 40.00{NBSP}USD"
    assert format_amounts({"jpy": 500}, "en") == f"500{NBSP}JPY"  # no minor unit
    assert format_amounts({"eur": 123456}, "fr") == f"1\u202f234,56{NBSP}EUR"
    assert format_amounts({"eur": 0}, "en") == f"0.00{NBSP}EUR"
    assert format_amounts({}, "en") == "—"


async def test_the_page_shows_paid_orders_and_revenue(
    client: httpx.AsyncClient, with_orders: Seeded
) -> None:
    await log_in(client, with_orders.team.admin.email)
    page = await client.get(
        site(with_orders.team) + "/sources", params={**PERIOD, "group_by": "source"}
    )
    assert page.status_code == 200
    rows = table_rows(page.text)
    assert {key: cells[6:] for key, cells in rows.items()} == {
        "google": ["3", f"25.00{NBSP}EUR · 40.00{NBSP}USD"],
        "facebook": ["1", f"0.00{NBSP}EUR"],
        "newsletter": ["1", f"500{NBSP}JPY"],
        "(direct)": ["0", "—"],
        "blog.example.org": ["0", "—"],
        "www.google.com": ["0", "—"],
        "": ["5", f"25.00{NBSP}EUR · 500{NBSP}JPY · 40.00{NBSP}USD"],
    }
    assert rows[""][:6] == ["7", "5", "14", "7", "4", rate_text(0.5714)]
    assert '<th scope="col" class="num">Paid orders</th>' in page.text
    assert "when that visit started in this period, whenever they were paid" in page.text


async def test_the_csv_has_a_revenue_column_per_currency(
    client: httpx.AsyncClient, with_orders: Seeded
) -> None:
    await log_in(client, with_orders.team.owner.email)
    response = await client.get(
        site(with_orders.team) + "/sources.csv", params={**PERIOD, "group_by": "source"}
    )
    header, *rows, total = parse_csv(response)
    assert header[6:] == [
        "Conversion rate, %",
        "Paid orders",
        "Revenue, EUR",
        "Revenue, JPY",
        "Revenue, USD",
    ]
    assert {row[0]: row[7:] for row in rows} == {
        "google": ["3", "25.00", "0", "40.00"],
        "facebook": ["1", "0.00", "0", "0.00"],
        "newsletter": ["1", "0.00", "500", "0.00"],
        "(direct)": ["0", "0.00", "0", "0.00"],
        "blog.example.org": ["0", "0.00", "0", "0.00"],
        "www.google.com": ["0", "0.00", "0", "0.00"],
    }
    assert total[7:] == ["5", "25.00", "500", "40.00"]
