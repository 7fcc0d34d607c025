"""Access to what a buyer paid for: customers, grants, single-use e-mailed log-in links.

``install(base_url)`` registers the fulfilment and refund hooks of offer orders; they run inside
the transaction that changed the order, so the grant, its webhook and the e-mail are queued
together, once. The grant goes to the e-mail the payment reported, whatever other customer
exists; a paid order without an e-mail is flagged for manual access instead.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from widget_server.access import store
from widget_server.access.store import Customer, Grant
from widget_server.accounts.models import Access
from widget_server.accounts.service import hash_password, require_admin
from widget_server.db.metadata import utcnow
from widget_server.errors import Conflict, NotFound, invalid
from widget_server.i18n import _
from widget_server.outbox import service as outbox
from widget_server.payments import service as payments
from widget_server.payments.models import Order

LINK_LIFETIME = timedelta(days=7)
LINKS_PER_HOUR = 5
MIN_PASSWORD = 10
HOOK = "access"
_base_url = ""


@dataclass(frozen=True)
class Purchase:
    order: Order
    grant: Grant


def install(base_url: str) -> None:
    """Register the hooks; links in the e-mails start with ``base_url``."""
    global _base_url
    _base_url = base_url.rstrip("/")
    payments.register_fulfilment(HOOK, on_paid)
    payments.register_refund(HOOK, on_refund)


def normal_email(email: str) -> str:
    return email.strip().lower()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def grant_data(grant: Grant, customer: Customer, order: Order) -> dict[str, Any]:
    return {
        "id": grant.id,
        "customer_email": customer.email,
        "order_id": order.public_id,
        "kind": grant.kind,
        "value": grant.value,
        "status": grant.status,
    }


async def _send_link(
    conn: AsyncConnection, customer: Customer, template: str, now: datetime, **extra: Any
) -> None:
    token = secrets.token_urlsafe(32)
    await store.insert_link(conn, customer.id, _hash(token), now, now + LINK_LIFETIME)
    context = {"link": f"{_base_url}/access/{token}", "email": customer.email, **extra}
    await outbox.send_mail(
        conn, site_id=customer.site_id, to=customer.email, template=template, context=context
    )


async def _grant(conn: AsyncConnection, order: Order, email: str, now: datetime) -> bool:
    """Give the order's access to the customer of ``email``; False if already granted."""
    offer = await payments.offer_in(conn, order.offer_id) if order.offer_id else None
    if offer is None or not offer.grants:
        return False
    customer = await store.find_or_create_customer(conn, order.site_id, normal_email(email), now)
    grant = await store.insert_grant(
        conn,
        {
            "site_id": order.site_id,
            "customer_id": customer.id,
            "offer_id": offer.id,
            "order_id": order.id,
            "kind": str(offer.grants.get("kind", "url")),
            "value": str(offer.grants.get("value", "")),
            "status": "active",
            "granted_at": now,
        },
    )
    if grant is None:
        return False
    await outbox.emit_event(
        conn,
        site_id=order.site_id,
        event_type="access.granted",
        data={"grant": grant_data(grant, customer, order)},
    )
    await _send_link(conn, customer, "access_link", now, offer_name=offer.name)
    return True


async def on_paid(conn: AsyncConnection, order: Order) -> None:
    now = utcnow()
    if order.offer_id is None:
        return
    if not order.customer_email:
        offer = await payments.offer_in(conn, order.offer_id)
        if offer is not None and offer.grants:
            await store.flag_manual(conn, order.site_id, order.id, now)
        return
    await _grant(conn, order, order.customer_email, now)


async def _revoke(conn: AsyncConnection, grant: Grant, order: Order) -> None:
    revoked = await store.revoke_grant(conn, grant.id, utcnow())
    customer = await store.customer_by_id(conn, grant.customer_id)
    if revoked is not None and customer is not None:
        await outbox.emit_event(
            conn,
            site_id=order.site_id,
            event_type="access.revoked",
            data={"grant": grant_data(revoked, customer, order)},
        )


async def on_refund(conn: AsyncConnection, order: Order) -> None:
    grant = await store.grant_of_order(conn, order.id)
    if grant is not None:
        await _revoke(conn, grant, order)


# --- links and sessions ------------------------------------------------------------------------


async def use_link(engine: AsyncEngine, token: str, now: datetime | None = None) -> Customer:
    """The customer of a valid link, marking it used. Conflict(code used/expired) otherwise."""
    now = now or utcnow()
    async with engine.begin() as conn:
        customer_id = await store.use_link(conn, _hash(token), now)
        if customer_id is None:
            try:
                used_at, _expires = await store.link_state(conn, _hash(token))
            except NoResultFound as exc:
                raise NotFound(_("This access link is not valid.")) from exc
            raise Conflict(
                _("This link was already used.") if used_at else _("This link has expired.")
            )
        customer = await store.customer_by_id(conn, customer_id)
    assert customer is not None
    return customer


async def request_link(engine: AsyncEngine, site_id: int | None, email: str) -> None:
    """A fresh link for each customer of that e-mail (on one site, or on any when the site is
    unknown), at most 5 an hour each; silent otherwise, so nobody learns who bought."""
    now = utcnow()
    async with engine.begin() as conn:
        for found in await store.customers_by_email(conn, site_id, normal_email(email)):
            if await store.links_since(conn, found.id, now - timedelta(hours=1)) < LINKS_PER_HOUR:
                await _send_link(conn, found, "access_link", now, offer_name="")


async def customer(engine: AsyncEngine, customer_id: int) -> Customer | None:
    async with engine.connect() as conn:
        return await store.customer_by_id(conn, customer_id)


async def set_password(engine: AsyncEngine, customer_id: int, password: str, again: str) -> int:
    """Set the password; the new session epoch."""
    if len(password) < MIN_PASSWORD:
        raise invalid("password", _("At least 10 characters, please."), "too_short")
    if password != again:
        raise invalid("password_again", _("The two passwords differ."), "mismatch")
    async with engine.begin() as conn:
        await store.set_password(conn, customer_id, hash_password(password))
        found = await store.customer_by_id(conn, customer_id)
    assert found is not None
    return found.session_epoch


async def purchases(engine: AsyncEngine, customer_id: int) -> list[Purchase]:
    async with engine.connect() as conn:
        grants = await store.grants_of_customer(conn, customer_id)
    orders = {o.id: o for o in await payments.orders_by_ids(engine, [g.order_id for g in grants])}
    return [Purchase(orders[g.order_id], g) for g in grants if g.order_id in orders]


async def expire_links(engine: AsyncEngine, customer_id: int, at: datetime) -> None:
    async with engine.begin() as conn:
        await store.expire_links(conn, customer_id, at)


# --- admin -------------------------------------------------------------------------------------


async def flagged_orders(access: Access, engine: AsyncEngine) -> list[Order]:
    """Paid orders waiting for an admin to give access by hand (no e-mail reported)."""
    require_admin(access)
    async with engine.connect() as conn:
        ids = await store.flagged_orders(conn, access.site.id)
    return await payments.orders_by_ids(engine, ids)


async def grant_manually(access: Access, engine: AsyncEngine, order_id: str, email: str) -> Grant:
    """Give a paid order's access to ``email`` (order public id); 409 if already granted."""
    require_admin(access)
    if "@" not in email or len(email) > 320:
        raise invalid("email", _("This is not an email address."))
    order = await payments.get_order(engine, access.site.id, order_id)
    if order.fulfilled_at is None:
        raise Conflict(_("Only a paid order gives access."))
    now = utcnow()
    async with engine.begin() as conn:
        if not await _grant(conn, order, email, now):
            raise Conflict(_("This order already gives access, or its offer grants nothing."))
        await store.resolve_manual(conn, order.id, now)
        grant = await store.grant_of_order(conn, order.id)
    assert grant is not None
    return grant


async def _grant_of_site(conn: AsyncConnection, access: Access, grant_id: int) -> Grant:
    grant = await store.grant_by_id(conn, access.site.id, grant_id)
    if grant is None:
        raise NotFound(_("There is no such access."))
    return grant


async def revoke(access: Access, engine: AsyncEngine, grant_id: int) -> Grant:
    require_admin(access)
    async with engine.begin() as conn:
        grant = await _grant_of_site(conn, access, grant_id)
        orders = await payments.orders_in(conn, [grant.order_id])
        if grant.status != "active" or not orders:
            raise Conflict(_("This access is already revoked."))
        await _revoke(conn, grant, orders[0])
        revoked = await store.grant_by_id(conn, access.site.id, grant_id)
    assert revoked is not None
    return revoked


async def move(access: Access, engine: AsyncEngine, grant_id: int, email: str) -> Grant:
    """Give a grant to the customer of another e-mail (created if needed), with a link."""
    require_admin(access)
    if "@" not in email or len(email) > 320:
        raise invalid("email", _("This is not an email address."))
    now = utcnow()
    async with engine.begin() as conn:
        grant = await _grant_of_site(conn, access, grant_id)
        target = await store.find_or_create_customer(conn, access.site.id, normal_email(email), now)
        moved = await store.move_grant(conn, grant.id, target.id)
        await _send_link(conn, target, "access_link", now, offer_name="")
    assert moved is not None
    return moved
