"""The only SQL of the access package. State changes are conditional writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.access.tables import access_grants, customers, magic_links, manual_access


@dataclass(frozen=True)
class Customer:
    id: int
    site_id: int
    email: str
    name: str
    phone: str
    password_hash: str | None
    session_epoch: int
    created_at: datetime


@dataclass(frozen=True)
class Grant:
    id: int
    site_id: int
    customer_id: int
    offer_id: int | None
    order_id: int
    kind: str
    value: str
    status: str
    granted_at: datetime
    revoked_at: datetime | None


def _customer(row: Any) -> Customer:
    return Customer(**{c.name: row._mapping[c.name] for c in customers.columns})


def _grant(row: Any) -> Grant:
    return Grant(**{c.name: row._mapping[c.name] for c in access_grants.columns})


async def customer_by_email(conn: AsyncConnection, site_id: int, email: str) -> Customer | None:
    query = select(customers).where(customers.c.site_id == site_id, customers.c.email == email)
    row = (await conn.execute(query)).first()
    return _customer(row) if row else None


async def customers_by_email(
    conn: AsyncConnection, site_id: int | None, email: str
) -> list[Customer]:
    query = select(customers).where(customers.c.email == email)
    if site_id is not None:
        query = query.where(customers.c.site_id == site_id)
    return [_customer(row) for row in await conn.execute(query.order_by(customers.c.id))]


async def customers_by_ids(conn: AsyncConnection, ids: list[int]) -> list[Customer]:
    if not ids:
        return []
    rows = await conn.execute(select(customers).where(customers.c.id.in_(ids)))
    return [_customer(row) for row in rows]


async def customer_by_id(conn: AsyncConnection, customer_id: int) -> Customer | None:
    row = (await conn.execute(select(customers).where(customers.c.id == customer_id))).first()
    return _customer(row) if row else None


async def find_or_create_customer(
    conn: AsyncConnection, site_id: int, email: str, now: datetime
) -> Customer:
    """The unique (site, email) key decides; a savepoint absorbs a concurrent insert."""
    found = await customer_by_email(conn, site_id, email)
    if found is not None:
        return found
    try:
        async with conn.begin_nested():
            values = {"site_id": site_id, "email": email, "name": "", "created_at": now}
            result = await conn.execute(
                insert(customers).values(session_epoch=0, **values).returning(*customers.columns)
            )
            return _customer(result.one())
    except IntegrityError:
        again = await customer_by_email(conn, site_id, email)
        assert again is not None
        return again


async def set_password(
    conn: AsyncConnection, customer_id: int, password_hash: str, profile: dict[str, str]
) -> None:
    """The password (a new session epoch) and the ``profile`` fields given (name, phone)."""
    await conn.execute(
        update(customers)
        .where(customers.c.id == customer_id)
        .values(
            password_hash=password_hash,
            session_epoch=customers.c.session_epoch + 1,
            **profile,
        )
    )


async def insert_grant(conn: AsyncConnection, values: dict[str, Any]) -> Grant | None:
    """The new grant, or None when the order already has one (unique order_id)."""
    try:
        async with conn.begin_nested():
            result = await conn.execute(
                insert(access_grants).values(**values).returning(*access_grants.columns)
            )
            return _grant(result.one())
    except IntegrityError:
        return None


async def grant_of_order(conn: AsyncConnection, order_id: int) -> Grant | None:
    query = select(access_grants).where(access_grants.c.order_id == order_id)
    row = (await conn.execute(query)).first()
    return _grant(row) if row else None


async def grant_by_id(conn: AsyncConnection, site_id: int, grant_id: int) -> Grant | None:
    query = select(access_grants).where(
        access_grants.c.id == grant_id, access_grants.c.site_id == site_id
    )
    row = (await conn.execute(query)).first()
    return _grant(row) if row else None


async def revoke_grant(conn: AsyncConnection, grant_id: int, now: datetime) -> Grant | None:
    """active → revoked, once."""
    result = await conn.execute(
        update(access_grants)
        .where(access_grants.c.id == grant_id, access_grants.c.status == "active")
        .values(status="revoked", revoked_at=now)
        .returning(*access_grants.columns)
    )
    row = result.first()
    return _grant(row) if row else None


async def move_grant(conn: AsyncConnection, grant_id: int, customer_id: int) -> Grant | None:
    result = await conn.execute(
        update(access_grants)
        .where(access_grants.c.id == grant_id)
        .values(customer_id=customer_id)
        .returning(*access_grants.columns)
    )
    row = result.first()
    return _grant(row) if row else None


async def grants_of_site(
    conn: AsyncConnection, site_id: int, order_id: int | None, customer_id: int | None
) -> list[Grant]:
    query = select(access_grants).where(access_grants.c.site_id == site_id)
    if order_id is not None:
        query = query.where(access_grants.c.order_id == order_id)
    if customer_id is not None:
        query = query.where(access_grants.c.customer_id == customer_id)
    return [_grant(row) for row in await conn.execute(query.order_by(access_grants.c.id))]


async def grants_of_customer(conn: AsyncConnection, customer_id: int) -> list[Grant]:
    query = (
        select(access_grants)
        .where(access_grants.c.customer_id == customer_id)
        .order_by(access_grants.c.id)
    )
    return [_grant(row) for row in await conn.execute(query)]


# --- magic links -------------------------------------------------------------------------------


async def insert_link(
    conn: AsyncConnection, customer_id: int, token_hash: str, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        insert(magic_links).values(
            token_hash=token_hash, customer_id=customer_id, created_at=now, expires_at=expires_at
        )
    )


async def use_link(conn: AsyncConnection, token_hash: str, now: datetime) -> int | None:
    """Mark the link used, once, if still valid; the customer id, or None."""
    result = await conn.execute(
        update(magic_links)
        .where(
            magic_links.c.token_hash == token_hash,
            magic_links.c.used_at.is_(None),
            magic_links.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(magic_links.c.customer_id)
    )
    row = result.first()
    return int(row[0]) if row else None


async def link_state(conn: AsyncConnection, token_hash: str) -> tuple[datetime | None, datetime]:
    """(used_at, expires_at) of a link; raises NoResultFound for an unknown one."""
    query = select(magic_links.c.used_at, magic_links.c.expires_at).where(
        magic_links.c.token_hash == token_hash
    )
    row = (await conn.execute(query)).one()
    return row[0], row[1]


async def expire_links(conn: AsyncConnection, customer_id: int, at: datetime) -> None:
    """Test and admin helper: make every link of the customer expire at ``at``."""
    await conn.execute(
        update(magic_links).where(magic_links.c.customer_id == customer_id).values(expires_at=at)
    )


async def links_since(conn: AsyncConnection, customer_id: int, since: datetime) -> int:
    query = (
        select(func.count())
        .select_from(magic_links)
        .where(magic_links.c.customer_id == customer_id, magic_links.c.created_at >= since)
    )
    return int((await conn.execute(query)).scalar_one())


# --- orders flagged for manual access ----------------------------------------------------------


async def flag_manual(conn: AsyncConnection, site_id: int, order_id: int, now: datetime) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(manual_access).values(site_id=site_id, order_id=order_id, flagged_at=now)
            )
    except IntegrityError:
        pass


async def resolve_manual(conn: AsyncConnection, order_id: int, now: datetime) -> None:
    await conn.execute(
        update(manual_access)
        .where(manual_access.c.order_id == order_id, manual_access.c.resolved_at.is_(None))
        .values(resolved_at=now)
    )


async def is_flagged(conn: AsyncConnection, order_id: int) -> bool:
    """Whether the order still waits for an admin to give its access by hand."""
    query = select(manual_access.c.id).where(
        manual_access.c.order_id == order_id, manual_access.c.resolved_at.is_(None)
    )
    return (await conn.execute(query)).first() is not None


async def flagged_orders(conn: AsyncConnection, site_id: int) -> list[int]:
    query = (
        select(manual_access.c.order_id)
        .where(manual_access.c.site_id == site_id, manual_access.c.resolved_at.is_(None))
        .order_by(manual_access.c.id)
    )
    return [int(row[0]) for row in await conn.execute(query)]
