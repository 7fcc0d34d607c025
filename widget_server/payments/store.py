"""The only SQL of the payments package. State changes are conditional writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.payments.models import Offer, Order
from widget_server.payments.tables import offers, order_events, orders, processed_events

# The states an order may still leave for "paid" (failed and expired are final).
PAYABLE = ("pending",)


def _offer(row: Any) -> Offer:
    return Offer(**{c.name: row._mapping[c.name] for c in offers.columns})


# Orders are read with their offer's slug (None once the offer is deleted).
_offer_slug = (
    select(offers.c.slug)
    .where(offers.c.id == orders.c.offer_id)
    .scalar_subquery()
    .label("offer_slug")
)
ORDER_COLUMNS = (*orders.columns, _offer_slug)


def _order(row: Any) -> Order:
    values = {c.name: row._mapping[c.name] for c in orders.columns}
    return Order(**values, offer_slug=row._mapping["offer_slug"])


async def _changed(conn: AsyncConnection, result: Any) -> Order | None:
    """The order a write ``RETURNING orders.id`` changed, read again with its offer's slug (a
    subquery in RETURNING is not portable)."""
    row = result.first()
    if row is None:
        return None
    found = (await conn.execute(select(*ORDER_COLUMNS).where(orders.c.id == row.id))).one()
    return _order(found)


# --- offers ------------------------------------------------------------------------------------


async def insert_offer(conn: AsyncConnection, values: dict[str, Any]) -> Offer:
    result = await conn.execute(insert(offers).values(**values).returning(*offers.columns))
    return _offer(result.one())


async def update_offer(
    conn: AsyncConnection, site_id: int, slug: str, values: dict[str, Any]
) -> Offer | None:
    result = await conn.execute(
        update(offers)
        .where(offers.c.site_id == site_id, offers.c.slug == slug)
        .values(**values)
        .returning(*offers.columns)
    )
    row = result.first()
    return _offer(row) if row else None


async def offer_by_slug(conn: AsyncConnection, site_id: int, slug: str) -> Offer | None:
    row = (
        await conn.execute(select(offers).where(offers.c.site_id == site_id, offers.c.slug == slug))
    ).first()
    return _offer(row) if row else None


async def offer_by_id(conn: AsyncConnection, offer_id: int) -> Offer | None:
    row = (await conn.execute(select(offers).where(offers.c.id == offer_id))).first()
    return _offer(row) if row else None


async def offers_by_ids(conn: AsyncConnection, ids: list[int]) -> list[Offer]:
    rows = await conn.execute(select(offers).where(offers.c.id.in_(ids)).order_by("id"))
    return [_offer(row) for row in rows]


async def offers_of_site(conn: AsyncConnection, site_id: int) -> list[Offer]:
    rows = await conn.execute(select(offers).where(offers.c.site_id == site_id).order_by("id"))
    return [_offer(row) for row in rows]


# --- orders ------------------------------------------------------------------------------------


async def insert_order(conn: AsyncConnection, values: dict[str, Any]) -> Order:
    result = await conn.execute(insert(orders).values(**values).returning(orders.c.id))
    order = await _changed(conn, result)
    assert order is not None  # an INSERT returns its row
    return order


async def set_checkout(conn: AsyncConnection, order_id: int, checkout_id: str) -> None:
    await conn.execute(
        update(orders)
        .where(orders.c.id == order_id, orders.c.checkout_id.is_(None))
        .values(checkout_id=checkout_id)
    )


async def order_by_public_id(
    conn: AsyncConnection, public_id: str, site_id: int | None = None
) -> Order | None:
    query = select(*ORDER_COLUMNS).where(orders.c.public_id == public_id)
    if site_id is not None:
        query = query.where(orders.c.site_id == site_id)
    row = (await conn.execute(query)).first()
    return _order(row) if row else None


async def find_order(
    conn: AsyncConnection,
    gateway: str,
    public_id: str | None,
    checkout_id: str | None,
    payment_id: str | None,
) -> Order | None:
    """The order an event is about: by our id, else the provider's session or payment id."""
    tests = []
    if public_id:
        tests.append(orders.c.public_id == public_id)
    if checkout_id:
        tests.append(orders.c.checkout_id == checkout_id)
    if payment_id:
        tests.append(orders.c.payment_id == payment_id)
    if not tests:
        return None
    query = select(*ORDER_COLUMNS).where(orders.c.gateway == gateway, or_(*tests)).order_by("id")
    row = (await conn.execute(query)).first()
    return _order(row) if row else None


async def orders_of_site(
    conn: AsyncConnection,
    site_id: int,
    status: str | None,
    limit: int,
    before_id: int | None = None,
) -> list[Order]:
    """Newest first; with ``before_id``, only orders older than that one."""
    query = select(*ORDER_COLUMNS).where(orders.c.site_id == site_id)
    if status:
        query = query.where(orders.c.status == status)
    if before_id is not None:
        query = query.where(orders.c.id < before_id)
    rows = await conn.execute(query.order_by(orders.c.id.desc()).limit(limit))
    return [_order(row) for row in rows]


async def fulfil(
    conn: AsyncConnection, order_id: int, now: datetime, payment_id: str | None
) -> Order | None:
    """Pending -> paid, once: the order when this call made the change, else None."""
    values: dict[str, Any] = {"status": "paid", "fulfilled_at": now, "updated_at": now}
    if payment_id:
        values["payment_id"] = func.coalesce(orders.c.payment_id, payment_id)
    result = await conn.execute(
        update(orders)
        .where(
            orders.c.id == order_id,
            orders.c.status.in_(PAYABLE),
            orders.c.fulfilled_at.is_(None),
        )
        .values(**values)
        .returning(orders.c.id)
    )
    return await _changed(conn, result)


async def close_unpaid(
    conn: AsyncConnection, order_id: int, status: str, now: datetime
) -> Order | None:
    """Pending -> failed | expired, unless it was paid (or closed) meanwhile."""
    result = await conn.execute(
        update(orders)
        .where(
            orders.c.id == order_id,
            orders.c.status == "pending",
            orders.c.fulfilled_at.is_(None),
        )
        .values(status=status, updated_at=now)
        .returning(orders.c.id)
    )
    return await _changed(conn, result)


async def note_payment_id(conn: AsyncConnection, order_id: int, payment_id: str) -> None:
    await conn.execute(
        update(orders)
        .where(orders.c.id == order_id, orders.c.payment_id.is_(None))
        .values(payment_id=payment_id)
    )


async def note_email(conn: AsyncConnection, order_id: int, email: str) -> None:
    """The e-mail the gateway reported wins over the typed one, until the order is fulfilled."""
    await conn.execute(
        update(orders)
        .where(orders.c.id == order_id, orders.c.fulfilled_at.is_(None))
        .values(customer_email=email[:320])
    )


def _refund_status(total: Any) -> Any:
    return case((total >= orders.c.amount, "refunded"), else_="partially_refunded")


async def refund_to(
    conn: AsyncConnection, order_id: int, total: int, now: datetime
) -> Order | None:
    """Raise the refunded total to ``total`` (a gateway's cumulative figure), if it is higher."""
    result = await conn.execute(
        update(orders)
        .where(
            orders.c.id == order_id,
            orders.c.status.in_(("paid", "partially_refunded")),
            orders.c.refunded_amount < total,
            orders.c.amount >= total,
        )
        .values(refunded_amount=total, status=_refund_status(total), updated_at=now)
        .returning(orders.c.id)
    )
    return await _changed(conn, result)


async def refund_by(
    conn: AsyncConnection, order_id: int, amount: int, now: datetime
) -> Order | None:
    """Add ``amount`` to the refunded total, unless that would exceed what was paid."""
    total = orders.c.refunded_amount + amount
    result = await conn.execute(
        update(orders)
        .where(
            orders.c.id == order_id,
            orders.c.status.in_(("paid", "partially_refunded")),
            and_(total <= orders.c.amount),
        )
        .values(refunded_amount=total, status=_refund_status(total), updated_at=now)
        .returning(orders.c.id)
    )
    return await _changed(conn, result)


async def unrefund_by(conn: AsyncConnection, order_id: int, amount: int, now: datetime) -> None:
    """Undo ``refund_by`` after the gateway refused the refund."""
    total = orders.c.refunded_amount - amount
    await conn.execute(
        update(orders)
        .where(orders.c.id == order_id, orders.c.refunded_amount >= amount)
        .values(
            refunded_amount=total,
            status=case((total == 0, "paid"), else_="partially_refunded"),
            updated_at=now,
        )
    )


# --- timeline and processed events -------------------------------------------------------------


async def add_event(
    conn: AsyncConnection, order_id: int, kind: str, data: dict[str, Any], now: datetime
) -> None:
    await conn.execute(insert(order_events).values(order_id=order_id, kind=kind, data=data, at=now))


async def events_of(conn: AsyncConnection, order_id: int) -> list[tuple[str, dict[str, Any]]]:
    rows = await conn.execute(
        select(order_events.c.kind, order_events.c.data)
        .where(order_events.c.order_id == order_id)
        .order_by(order_events.c.id)
    )
    return [(row.kind, row.data) for row in rows]


async def claim_event(conn: AsyncConnection, gateway: str, event_id: str, now: datetime) -> bool:
    """Record a gateway event id; False when it was already recorded (a redelivery)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(processed_events)
        .values(gateway=gateway, event_id=event_id, at=now)
        .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
    )
    result = await conn.execute(statement)
    return bool(result.rowcount)


async def orders_by_ids(conn: AsyncConnection, ids: list[int]) -> list[Order]:
    rows = await conn.execute(
        select(*ORDER_COLUMNS).where(orders.c.id.in_(ids)).order_by(orders.c.id)
    )
    return [_order(row) for row in rows]


# --- the console's order list and timeline -----------------------------------------------------


async def search_orders(
    conn: AsyncConnection,
    site_id: int,
    *,
    status: str | None,
    text: str,
    among: list[int] | None,
    limit: int,
    offset: int,
) -> list[Order]:
    """Newest first; ``text`` is an order id or a part of the customer's e-mail; ``among``
    restricts to those order ids."""
    query = select(*ORDER_COLUMNS).where(orders.c.site_id == site_id)
    if status:
        query = query.where(orders.c.status == status)
    if text:
        query = query.where(
            or_(
                orders.c.public_id == text,
                func.lower(orders.c.customer_email).contains(text.lower(), autoescape=True),
            )
        )
    if among is not None:
        query = query.where(orders.c.id.in_(among))
    rows = await conn.execute(query.order_by(orders.c.id.desc()).limit(limit).offset(offset))
    return [_order(row) for row in rows]


async def dated_events_of(
    conn: AsyncConnection, order_id: int
) -> list[tuple[str, dict[str, Any], datetime]]:
    rows = await conn.execute(
        select(order_events.c.kind, order_events.c.data, order_events.c.at)
        .where(order_events.c.order_id == order_id)
        .order_by(order_events.c.id)
    )
    return [(row.kind, row.data, row.at) for row in rows]
