"""Property: however a session's events are duplicated and reordered, fulfilment happens exactly
once when the payment succeeded, never otherwise, and the final state matches the events."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import PASSWORD, make_settings
from widget_server.accounts import service as accounts
from widget_server.bus import LocalBus
from widget_server.db import migrate
from widget_server.db.engine import create_engine
from widget_server.errors import Conflict
from widget_server.payments import offers, service, store
from widget_server.payments.hooks import PaymentHooks
from widget_server.payments.models import EventKind, Order, PaymentEvent
from widget_server.runtime import Runtime

# What Stripe may send for one Checkout Session, by outcome.
SCENARIOS: dict[str, list[EventKind]] = {
    "paid": ["completed_paid"],
    # Two distinct events confirming one payment (a completion and a late async success).
    "paid_twice": ["completed_paid", "async_succeeded"],
    "delayed_paid": ["completed_unpaid", "async_succeeded"],
    "delayed_failed": ["completed_unpaid", "async_failed"],
    "expired": ["expired"],
}


@dataclass(frozen=True)
class Case:
    scenario: str
    refunds: tuple[int, ...]  # cumulative refunded totals Stripe reports, in its order
    deliveries: tuple[int, ...]  # indexes into the case's events: duplicates and any order


@st.composite
def cases(draw: st.DrawFn) -> Case:
    scenario = draw(st.sampled_from(sorted(SCENARIOS)))
    refunds: tuple[int, ...] = ()
    if scenario in ("paid", "paid_twice", "delayed_paid"):
        refunds = tuple(sorted(draw(st.lists(st.integers(1, 1500), max_size=2, unique=True))))
    count = len(SCENARIOS[scenario]) + len(refunds)
    # Every event is delivered at least once (Stripe retries until it is accepted).
    base = list(range(count)) + draw(st.lists(st.integers(0, count - 1), max_size=6))
    deliveries = tuple(draw(st.permutations(base)))
    return Case(scenario, refunds, deliveries)


def _events(order: Order, case: Case) -> list[PaymentEvent]:
    found = [
        PaymentEvent(
            kind=kind,
            event_id=f"evt_{order.public_id}_{n}",
            order_ref=order.public_id,
            checkout_id=order.checkout_id,
            payment_id=None if kind in ("completed_unpaid", "expired") else "pi_" + order.public_id,
        )
        for n, kind in enumerate(SCENARIOS[case.scenario])
    ]
    found += [
        PaymentEvent(
            kind="refunded",
            event_id=f"evt_{order.public_id}_r{n}",
            payment_id="pi_" + order.public_id,
            amount=total,
        )
        for n, total in enumerate(case.refunds)
    ]
    return found


def test_events_in_any_order_and_number_fulfil_exactly_once() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'p.db'}"
        site_id, offer_id = asyncio.run(_prepare(url))
        fulfilled: list[str] = []

        async def count(state: Runtime, conn: AsyncConnection, order: Order) -> None:
            fulfilled.append(order.public_id)

        hooks = PaymentHooks()
        hooks.register("property-counter", paid=count)

        @settings(max_examples=80, deadline=None)
        @given(cases())
        def check(case: Case) -> None:
            asyncio.run(_run(Path(tmp), url, site_id, offer_id, case, fulfilled, hooks))

        check()


async def _prepare(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        owner = await accounts.create_user(
            engine, email="o@example.com", name="Owner", password=PASSWORD
        )
        site = await accounts.create_site(engine, name="Shop", owner=owner)
        body = {"slug": "thing", "name": "Thing", "amount": 1500, "currency": "usd"}
        offer = await offers.create_site_offer(engine, site.id, body)
        return site.id, offer.id
    finally:
        await engine.dispose()


async def _run(
    tmp: Path,
    url: str,
    site_id: int,
    offer_id: int,
    case: Case,
    fulfilled: list[str],
    hooks: PaymentHooks,
) -> None:
    engine = create_engine(url)
    state = Runtime(make_settings(url, tmp), engine, LocalBus(), payment_hooks=hooks)
    try:
        offer = await offers.offer_by_id(engine, offer_id)
        assert offer is not None
        order = await service.create_order(engine, offer, gateway="stripe", method="card")
        async with engine.begin() as conn:
            await store.set_checkout(conn, order.id, "cs_" + secrets.token_hex(8))
        order = await service.get_order(engine, site_id, order.public_id)
        events = _events(order, case)
        payment_seen = False
        refund_after_payment = 0
        for index in case.deliveries:
            event = events[index]
            try:
                await service.apply_event(state, "stripe", event)
            except Conflict:
                assert event.kind == "refunded" and not payment_seen
                continue
            if event.kind in ("completed_paid", "async_succeeded"):
                payment_seen = True
            if event.kind == "refunded" and payment_seen:
                refund_after_payment = max(refund_after_payment, event.amount or 0)
        final = await service.get_order(engine, site_id, order.public_id)
        succeeded = case.scenario in ("paid", "paid_twice", "delayed_paid")
        assert fulfilled.count(order.public_id) == (1 if succeeded else 0)
        if not succeeded:
            expected = "failed" if case.scenario == "delayed_failed" else "expired"
            assert (final.status, final.fulfilled_at) == (expected, None)
            return
        assert final.fulfilled_at is not None
        assert final.refunded_amount == refund_after_payment
        if refund_after_payment == 0:
            assert final.status == "paid"
        elif refund_after_payment == 1500:
            assert final.status == "refunded"
        else:
            assert final.status == "partially_refunded"
    finally:
        await engine.dispose()
