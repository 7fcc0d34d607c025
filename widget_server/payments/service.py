"""Orders and their state machine: exactly-once fulfilment however gateway events arrive.

``fulfil`` is one conditional UPDATE; only the caller whose UPDATE changed the row runs the
app's payment hooks (``Runtime.payment_hooks``) and queues ``order.paid``, inside that same
transaction. A gateway event id is
recorded in the same transaction too, so a redelivered event changes nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from widget_server.accounts.models import Access
from widget_server.accounts.service import require_admin
from widget_server.db.metadata import utcnow
from widget_server.errors import Conflict, NotFound, invalid
from widget_server.i18n import _
from widget_server.outbox import service as outbox
from widget_server.payments import money, store
from widget_server.payments.gateway import Gateway
from widget_server.payments.models import Offer, Order, PaymentEvent

if TYPE_CHECKING:
    from widget_server.runtime import Runtime

MANUAL_METHODS = ("cash", "bank_transfer", "pay_later")


def order_data(order: Order) -> dict[str, Any]:
    return {
        "id": order.public_id,
        "offer": order.offer_slug,
        "status": order.status,
        "amount": order.amount,
        "currency": order.currency,
        "refunded_amount": order.refunded_amount,
        "gateway": order.gateway,
        "method": order.method,
        "customer_email": order.customer_email,
        "visit_number": order.visit_number,
        "language": order.language,
        "metadata": order.metadata,
        "fulfilled_at": order.fulfilled_at.isoformat() if order.fulfilled_at else None,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
    }


# --- creating orders ---------------------------------------------------------------------------


async def create_order(
    engine: AsyncEngine,
    offer: Offer,
    *,
    gateway: str,
    method: str,
    customer_email: str | None = None,
    visit_number: int | None = None,
    visitor_key: str | None = None,
    metadata: dict[str, Any] | None = None,
    language: str | None = None,
) -> Order:
    now = utcnow()
    async with engine.begin() as conn:
        order = await store.insert_order(
            conn,
            {
                "public_id": "ord_" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y"),
                "site_id": offer.site_id,
                "offer_id": offer.id,
                "amount": offer.amount,
                "currency": offer.currency,
                "status": "pending",
                "refunded_amount": 0,
                "gateway": gateway,
                "method": method,
                "customer_email": customer_email,
                "visit_number": visit_number,
                "visitor_key": visitor_key,
                "language": language,
                "metadata": metadata or {},
                "created_at": now,
                "updated_at": now,
            },
        )
        await store.add_event(conn, order.id, "created", {"method": method}, now)
    return order


async def start_checkout(
    engine: AsyncEngine,
    gateway: Gateway,
    order: Order,
    offer: Offer,
    success_url: str,
    cancel_url: str,
) -> str:
    """Open the gateway's payment page for the order; its URL."""
    checkout = await gateway.create_checkout(order, offer.name, success_url, cancel_url)
    async with engine.begin() as conn:
        await store.set_checkout(conn, order.id, checkout.checkout_id)
    return checkout.url


async def get_order(engine: AsyncEngine, site_id: int, public_id: str) -> Order:
    async with engine.connect() as conn:
        order = await store.order_by_public_id(conn, public_id, site_id)
    if order is None:
        raise NotFound(_("There is no such order."))
    return order


async def order_by_public_id(engine: AsyncEngine, public_id: str) -> Order | None:
    async with engine.connect() as conn:
        return await store.order_by_public_id(conn, public_id)


async def list_orders(
    engine: AsyncEngine, site_id: int, status: str | None, limit: int
) -> list[Order]:
    async with engine.connect() as conn:
        return await store.orders_of_site(conn, site_id, status, limit)


async def page_of_orders(
    engine: AsyncEngine, site_id: int, status: str | None, limit: int, starting_after: str | None
) -> tuple[list[Order], bool]:
    """Up to ``limit`` orders, newest first, older than order ``starting_after`` (a public id)
    when given; and whether more follow."""
    async with engine.connect() as conn:
        before_id = None
        if starting_after is not None:
            after = await store.order_by_public_id(conn, starting_after, site_id)
            if after is None:
                raise invalid("starting_after", _("There is no such order."), "not_found")
            before_id = after.id
        found = await store.orders_of_site(conn, site_id, status, limit + 1, before_id)
    return found[:limit], len(found) > limit


async def timeline(engine: AsyncEngine, order_id: int) -> list[tuple[str, dict[str, Any]]]:
    async with engine.connect() as conn:
        return await store.events_of(conn, order_id)


async def dated_timeline(
    engine: AsyncEngine, order_id: int
) -> list[tuple[str, dict[str, Any], datetime]]:
    """The timeline with the time of each entry (the console shows it)."""
    async with engine.connect() as conn:
        return await store.dated_events_of(conn, order_id)


async def search_orders(
    engine: AsyncEngine,
    site_id: int,
    *,
    status: str | None = None,
    text: str = "",
    among: list[int] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Order]:
    """The console's order list: newest first, by status, order id or part of the e-mail."""
    async with engine.connect() as conn:
        return await store.search_orders(
            conn, site_id, status=status, text=text, among=among, limit=limit, offset=offset
        )


# --- the state machine -------------------------------------------------------------------------


async def _paid(state: Runtime, conn: AsyncConnection, order: Order) -> None:
    for hook in list(state.payment_hooks.paid.values()):
        await hook(state, conn, order)
    await outbox.emit_event(
        conn, site_id=order.site_id, event_type="order.paid", data={"order": order_data(order)}
    )


async def _refunded(state: Runtime, conn: AsyncConnection, order: Order, amount: int) -> None:
    for hook in list(state.payment_hooks.refunded.values()):
        await hook(state, conn, order)
    data = {"order": order_data(order), "amount": amount}
    await outbox.emit_event(conn, site_id=order.site_id, event_type="order.refunded", data=data)


async def fulfil_in(
    state: Runtime, conn: AsyncConnection, order: Order, payment_id: str | None
) -> bool:
    """Mark paid and fulfil, once. True for the one caller that did it."""
    now = utcnow()
    paid = await store.fulfil(conn, order.id, now, payment_id)
    if paid is None:
        return False
    await store.add_event(conn, order.id, "paid", {"payment_id": paid.payment_id}, now)
    await _paid(state, conn, paid)
    return True


async def _failed(state: Runtime, conn: AsyncConnection, order: Order) -> None:
    """The owner's ``order.failed`` webhook, and the buyer told by e-mail when the payment
    reported one (a delayed method that finally failed: they may think they have paid)."""
    await outbox.emit_event(
        conn, site_id=order.site_id, event_type="order.failed", data={"order": order_data(order)}
    )
    if not order.customer_email:
        return
    offer = await store.offer_by_id(conn, order.offer_id) if order.offer_id else None
    language = order.language or "en"
    context = {
        "offer_name": offer.name if offer else order.public_id,
        "failure_text": offer.failure_text if offer else "",
        "amount": money.format_amount(order.amount, order.currency, language),
        "link": f"{state.settings.base_url.rstrip('/')}/pay/order/{order.public_id}",
    }
    await outbox.send_mail(
        conn,
        site_id=order.site_id,
        to=order.customer_email,
        template="payment_failed",
        context=context,
        language=language,
    )


def _short_payment(order: Order, event: PaymentEvent) -> dict[str, Any] | None:
    """What the gateway reports as paid when it is less than the order (or another currency):
    then nothing is fulfilled and an admin decides (refund, or mark it paid). None when it fits.
    A gateway that reports no amount is trusted, as is a higher total (taxes added by it)."""
    if event.amount is None:
        return None
    currency = (event.currency or order.currency).lower()
    if event.amount >= order.amount and currency == order.currency.lower():
        return None
    return {
        "expected": order.amount,
        "currency": order.currency,
        "paid": event.amount,
        "paid_currency": currency,
    }


async def apply_event(state: Runtime, gateway: str, event: PaymentEvent) -> Order | None:
    """Apply one normalised gateway event; a redelivered event id changes nothing.

    A refund for an order not yet paid (events out of order) raises Conflict *without* recording
    the event, so the gateway delivers it again later, once the payment has been recorded.
    """
    now = utcnow()
    async with state.engine.begin() as conn:
        order = await store.find_order(
            conn, gateway, event.order_ref, event.checkout_id, event.payment_id
        )
        if order is None:
            return None  # not one of ours (another integration on the same Stripe account)
        if not await store.claim_event(conn, gateway, event.event_id, now):
            return order
        if event.payment_id:
            await store.note_payment_id(conn, order.id, event.payment_id)
        if event.email and "@" in event.email:
            await store.note_email(conn, order.id, event.email)
        data = {"event": event.event_id, "kind": event.kind}
        await store.add_event(conn, order.id, "gateway:" + event.kind, data, now)
        if event.kind in ("completed_paid", "async_succeeded"):
            short = _short_payment(order, event)
            if short is not None:
                await store.add_event(conn, order.id, "amount_mismatch", short, now)
            else:
                await fulfil_in(state, conn, order, event.payment_id)
        elif event.kind == "completed_unpaid":
            await store.add_event(conn, order.id, "awaiting_payment", {}, now)
        elif event.kind in ("async_failed", "expired"):
            status = "failed" if event.kind == "async_failed" else "expired"
            closed = await store.close_unpaid(conn, order.id, status, now)
            if closed is not None and status == "failed":
                await _failed(state, conn, closed)
        elif event.kind == "refunded":
            total = event.amount or 0
            refunded = await store.refund_to(conn, order.id, total, now)
            if refunded is not None:
                await _refunded(state, conn, refunded, total - order.refunded_amount)
            elif order.fulfilled_at is None:
                raise Conflict(_("The refund arrived before the payment; send it again later."))
        return await store.order_by_public_id(conn, order.public_id)


async def mark_paid(access: Access, state: Runtime, public_id: str) -> Order:
    """An admin records a cash / transfer / pay-later payment. Fulfils once; again: 409."""
    require_admin(access)
    async with state.engine.begin() as conn:
        order = await store.order_by_public_id(conn, public_id, access.site.id)
        if order is None:
            raise NotFound(_("There is no such order."))
        if not await fulfil_in(state, conn, order, None):
            raise Conflict(_("This order is not waiting for a payment."))
        await store.add_event(conn, order.id, "marked_paid", {"by": access.user.id}, utcnow())
        paid = await store.order_by_public_id(conn, public_id)
    assert paid is not None
    return paid


async def refund(
    state: Runtime, gateway: Gateway | None, site_id: int, public_id: str, amount: int | None
) -> Order:
    """Refund through the gateway: the amount is reserved first (a conditional UPDATE that
    refuses over-refunds), then the gateway is asked, and the reservation undone if it refuses."""
    order = await get_order(state.engine, site_id, public_id)
    if order.fulfilled_at is None:
        raise Conflict(_("Only a paid order can be refunded."))
    if order.refunded_amount >= order.amount:
        raise Conflict(_("This order is already fully refunded."), code="already_refunded")
    amount = order.amount - order.refunded_amount if amount is None else amount
    if amount <= 0:
        raise invalid("amount", _("The amount to refund must be positive."))
    now = utcnow()
    async with state.engine.begin() as conn:
        reserved = await store.refund_by(conn, order.id, amount, now)
    if reserved is None:
        raise invalid("amount", _("That is more than what is left to refund."), "too_large")
    try:
        if gateway is not None:
            await gateway.refund(reserved, amount)
    except BaseException:
        async with state.engine.begin() as conn:
            await store.unrefund_by(conn, order.id, amount, utcnow())
        raise
    async with state.engine.begin() as conn:
        await store.add_event(conn, order.id, "refunded", {"amount": amount}, now)
        await _refunded(state, conn, reserved, amount)
    return reserved


# --- for the access package (fulfilment hooks read inside the hook's transaction) ---------------


async def offer_in(conn: AsyncConnection, offer_id: int) -> Offer | None:
    return await store.offer_by_id(conn, offer_id)


async def offers_in(conn: AsyncConnection, ids: list[int]) -> list[Offer]:
    return await store.offers_by_ids(conn, ids) if ids else []


async def orders_in(conn: AsyncConnection, ids: list[int]) -> list[Order]:
    return await store.orders_by_ids(conn, ids) if ids else []


async def orders_by_ids(engine: AsyncEngine, ids: list[int]) -> list[Order]:
    if not ids:
        return []
    async with engine.connect() as conn:
        return await store.orders_by_ids(conn, ids)
