"""Access to what a buyer paid for: customers, grants, single-use e-mailed log-in links.

``install(state)`` registers the paid and refunded hooks of offer orders on the app; they run inside
the transaction that changed the order, so the grant, its webhook and the e-mail are queued
together, once. The grant goes to the e-mail the payment reported, whatever other customer
exists; a paid order without an e-mail is flagged for manual access instead.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from widget_server.access import store
from widget_server.access.store import Customer, Grant
from widget_server.accounts import store as accounts_store
from widget_server.accounts.models import Access
from widget_server.accounts.service import hash_password, require_admin
from widget_server.db.metadata import utcnow
from widget_server.errors import Conflict, InvalidRequest, NotFound, field_error, invalid
from widget_server.i18n import _, current_language, ngettext
from widget_server.outbox import service as outbox
from widget_server.payments import service as payments
from widget_server.payments.hooks import BuyerNote
from widget_server.payments.models import Order
from widget_server.payments.offers import CUSTOMER_FIELDS
from widget_server.runtime import Runtime

LINK_LIFETIME = timedelta(days=7)
LINKS_PER_HOUR = 5
MIN_PASSWORD = 10
PHONE = re.compile(r"\+?[0-9][0-9 ().-]{4,38}")
HOOK = "access"


@dataclass(frozen=True)
class Purchase:
    order: Order
    grant: Grant
    offer_name: str  # "" once the offer is deleted


def install(state: Runtime) -> None:
    """Register the hooks on the app; links in the e-mails start with its base URL."""
    state.payment_hooks.register(HOOK, paid=on_paid, refunded=on_refund, note=buyer_note)


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
        "granted_at": grant.granted_at.isoformat(),
        "revoked_at": grant.revoked_at.isoformat() if grant.revoked_at else None,
    }


async def _send_link(
    state: Runtime,
    conn: AsyncConnection,
    customer: Customer,
    template: str,
    now: datetime,
    language: str | None = None,
    **extra: Any,
) -> None:
    """A fresh single-use link by e-mail, in ``language`` (the buyer's, from their order),
    else in the language of the page that asked for it."""
    token = secrets.token_urlsafe(32)
    await store.insert_link(conn, customer.id, _hash(token), now, now + LINK_LIFETIME)
    link = f"{state.settings.base_url.rstrip('/')}/access/{token}"
    context = {"link": link, "email": customer.email, **extra}
    await outbox.send_mail(
        conn,
        site_id=customer.site_id,
        to=customer.email,
        template=template,
        context=context,
        language=language or current_language.get(),
    )


async def _grant(
    state: Runtime, conn: AsyncConnection, order: Order, email: str, now: datetime
) -> bool:
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
    await _send_link(
        state, conn, customer, "access_link", now, order.language, offer_name=offer.name
    )
    return True


async def on_paid(state: Runtime, conn: AsyncConnection, order: Order) -> None:
    now = utcnow()
    if order.offer_id is None:
        return
    if not order.customer_email:
        offer = await payments.offer_in(conn, order.offer_id)
        if offer is not None and offer.grants:
            await store.flag_manual(conn, order.site_id, order.id, now)
        return
    await _grant(state, conn, order, order.customer_email, now)


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


async def on_refund(state: Runtime, conn: AsyncConnection, order: Order) -> None:
    grant = await store.grant_of_order(conn, order.id)
    if grant is not None:
        await _revoke(conn, grant, order)


def masked(email: str) -> str:
    """Enough of an address for its owner to recognise it, not for a stranger holding the
    order's page to learn it: ``jeanne.martin@example.com`` → ``j•••n@example.com``."""
    local, _at, domain = email.partition("@")
    shown = local[0] + "•••" + local[-1] if len(local) > 2 else local[:1] + "•••"
    return f"{shown}@{domain}"


async def buyer_note(state: Runtime, order: Order) -> BuyerNote | None:
    """What the buyer of an access offer reads under the payment's result: where the link went,
    that it comes once the payment is confirmed, or that the seller gives access by hand."""
    if order.offer_id is None or order.status in ("failed", "expired", "refunded"):
        return None
    async with state.engine.connect() as conn:
        offer = await payments.offer_in(conn, order.offer_id)
        if offer is None or not offer.grants:
            return None
        if order.status == "pending":
            return BuyerNote(
                _("Once the payment is confirmed, we e-mail you a link to open your purchase.")
            )
        grant = await store.grant_of_order(conn, order.id)
        holder = await store.customer_by_id(conn, grant.customer_id) if grant else None
        flagged = await store.is_flagged(conn, order.id)
        site = await accounts_store.site_by_id(conn, order.site_id)
    key = site.key if site else ""
    if grant is not None and grant.status == "active" and holder is not None:
        days = LINK_LIFETIME.days
        return BuyerNote(
            ngettext(
                "We sent a link to open your purchase to %(email)s. It works once, within "
                "%(num)d day.",
                "We sent a link to open your purchase to %(email)s. It works once, within "
                "%(num)d days.",
                days,
            )
            % {"email": masked(holder.email), "num": days},
            link=f"/account/link?site={key}",
            link_text=_("No e-mail? Ask for a new link"),
        )
    if flagged:
        return BuyerNote(
            _(
                "The payment did not tell us your e-mail address, so the seller gives you access "
                "by hand. Write to them with your order reference: {ref}."
            ).format(ref=order.public_id)
        )
    return None


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


async def request_link(state: Runtime, site_id: int | None, email: str) -> None:
    """A fresh link for each customer of that e-mail (on one site, or on any when the site is
    unknown), at most 5 an hour each; silent otherwise, so nobody learns who bought."""
    now = utcnow()
    async with state.engine.begin() as conn:
        for found in await store.customers_by_email(conn, site_id, normal_email(email)):
            if await store.links_since(conn, found.id, now - timedelta(hours=1)) < LINKS_PER_HOUR:
                await _send_link(state, conn, found, "access_link", now, offer_name="")


async def customer(engine: AsyncEngine, customer_id: int) -> Customer | None:
    async with engine.connect() as conn:
        return await store.customer_by_id(conn, customer_id)


async def profile_fields(engine: AsyncEngine, customer_id: int) -> list[str]:
    """What the offers this customer has access to ask of a new customer (name, phone)."""
    async with engine.connect() as conn:
        grants = await store.grants_of_customer(conn, customer_id)
        ids = sorted({g.offer_id for g in grants if g.status == "active" and g.offer_id})
        asked = {f for offer in await payments.offers_in(conn, ids) for f in offer.customer_fields}
    return [f for f in CUSTOMER_FIELDS if f in asked]


def _profile(fields: list[str], given: dict[str, str]) -> dict[str, str]:
    details: list[dict[str, Any]] = []
    profile: dict[str, str] = {}
    for name in fields:
        value = " ".join(given.get(name, "").split())
        if name == "name" and not 1 <= len(value) <= 200:
            details.append(field_error("name", _("Enter your name."), "required"))
        elif name == "phone" and not PHONE.fullmatch(value):
            details.append(
                field_error("phone", _("Enter a phone number (digits, +, spaces)."), "invalid")
            )
        else:
            profile[name] = value
    if details:
        raise InvalidRequest(" ".join(d["message"] for d in details), details=details)
    return profile


async def set_password(
    engine: AsyncEngine,
    customer_id: int,
    password: str,
    again: str,
    given: dict[str, str] | None = None,
) -> int:
    """Set the password and the profile fields the customer's offers ask for (``given``); the
    new session epoch."""
    if len(password) < MIN_PASSWORD:
        raise invalid("password", _("At least 10 characters, please."), "too_short")
    if password != again:
        raise invalid("password_again", _("The two passwords differ."), "mismatch")
    profile = _profile(await profile_fields(engine, customer_id), given or {})
    async with engine.begin() as conn:
        await store.set_password(conn, customer_id, hash_password(password), profile)
        found = await store.customer_by_id(conn, customer_id)
    assert found is not None
    return found.session_epoch


async def purchases(engine: AsyncEngine, customer_id: int) -> list[Purchase]:
    async with engine.connect() as conn:
        grants = await store.grants_of_customer(conn, customer_id)
        orders = {o.id: o for o in await payments.orders_in(conn, [g.order_id for g in grants])}
        ids = sorted({g.offer_id for g in grants if g.offer_id})
        names = {o.id: o.name for o in await payments.offers_in(conn, ids)}
    return [
        Purchase(orders[g.order_id], g, names.get(g.offer_id or 0, ""))
        for g in grants
        if g.order_id in orders
    ]


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


async def grant_manually(access: Access, state: Runtime, order_id: str, email: str) -> Grant:
    """An admin gives a paid order's access to ``email`` (order public id)."""
    require_admin(access)
    return await grant_order(state, access.site.id, order_id, email)


async def grant_order(state: Runtime, site_id: int, order_id: str, email: str) -> Grant:
    """Give a paid order's access to ``email`` (order public id); 409 if already granted.
    The console (``grant_manually``) and the API share this path."""
    if "@" not in email or len(email) > 320:
        raise invalid("email", _("This is not an email address."))
    order = await payments.get_order(state.engine, site_id, order_id)
    if order.fulfilled_at is None:
        raise Conflict(_("Only a paid order gives access."))
    now = utcnow()
    async with state.engine.begin() as conn:
        if not await _grant(state, conn, order, email, now):
            if await store.grant_of_order(conn, order.id) is not None:
                raise Conflict(_("This order already gives access."), code="already_granted")
            raise Conflict(_("This order's offer grants nothing."))
        await store.resolve_manual(conn, order.id, now)
        grant = await store.grant_of_order(conn, order.id)
    assert grant is not None
    return grant


async def _grant_of_site(conn: AsyncConnection, site_id: int, grant_id: int) -> Grant:
    grant = await store.grant_by_id(conn, site_id, grant_id)
    if grant is None:
        raise NotFound(_("There is no such access."))
    return grant


async def revoke(access: Access, engine: AsyncEngine, grant_id: int) -> Grant:
    require_admin(access)
    return await revoke_grant(engine, access.site.id, grant_id)


async def revoke_grant(engine: AsyncEngine, site_id: int, grant_id: int) -> Grant:
    """Take a grant back (``access.revoked`` is sent); 409 if it already was. The console
    (``revoke``) and the API share this path."""
    async with engine.begin() as conn:
        grant = await _grant_of_site(conn, site_id, grant_id)
        orders = await payments.orders_in(conn, [grant.order_id])
        if grant.status != "active" or not orders:
            raise Conflict(_("This access is already revoked."))
        await _revoke(conn, grant, orders[0])
        revoked = await store.grant_by_id(conn, site_id, grant_id)
    assert revoked is not None
    return revoked


async def move(access: Access, state: Runtime, grant_id: int, email: str) -> Grant:
    """Give a grant to the customer of another e-mail (created if needed), with a link."""
    require_admin(access)
    if "@" not in email or len(email) > 320:
        raise invalid("email", _("This is not an email address."))
    now = utcnow()
    async with state.engine.begin() as conn:
        grant = await _grant_of_site(conn, access.site.id, grant_id)
        target = await store.find_or_create_customer(conn, access.site.id, normal_email(email), now)
        moved = await store.move_grant(conn, grant.id, target.id)
        (order,) = await payments.orders_in(conn, [grant.order_id])
        await _send_link(state, conn, target, "access_link", now, order.language, offer_name="")
    assert moved is not None
    return moved


@dataclass(frozen=True)
class OrderAccess:
    """An order's grant and the customer who holds it (the console's order page)."""

    grant: Grant
    customer: Customer


async def access_of_order(access: Access, engine: AsyncEngine, order: Order) -> OrderAccess | None:
    require_admin(access)
    if order.site_id != access.site.id:
        raise NotFound(_("There is no such order."))
    async with engine.connect() as conn:
        grant = await store.grant_of_order(conn, order.id)
        holder = await store.customer_by_id(conn, grant.customer_id) if grant else None
    if grant is None or holder is None:
        return None
    return OrderAccess(grant, holder)


async def resend_access(access: Access, state: Runtime, order_id: str) -> Customer:
    """Send the holder of the order's active grant a fresh single-use link (order public id)."""
    require_admin(access)
    order = await payments.get_order(state.engine, access.site.id, order_id)
    now = utcnow()
    async with state.engine.begin() as conn:
        grant = await store.grant_of_order(conn, order.id)
        holder = await store.customer_by_id(conn, grant.customer_id) if grant else None
        if grant is None or grant.status != "active" or holder is None:
            raise Conflict(_("This order gives no active access: there is nothing to send."))
        offer = await payments.offer_in(conn, order.offer_id) if order.offer_id else None
        name = offer.name if offer else ""
        await _send_link(state, conn, holder, "access_link", now, order.language, offer_name=name)
    return holder


async def list_grants(
    engine: AsyncEngine, site_id: int, *, order_id: str | None = None, email: str | None = None
) -> list[Grant]:
    """The site's grants of one order (public id; 404 if unknown) and/or of the customer of one
    e-mail, oldest first."""
    if order_id is None and email is None:
        raise invalid("order", _("Name an order or an e-mail."), "required")
    order = await payments.get_order(engine, site_id, order_id) if order_id is not None else None
    async with engine.connect() as conn:
        customer_id = None
        if email is not None:
            found = await store.customer_by_email(conn, site_id, normal_email(email))
            if found is None:
                return []
            customer_id = found.id
        return await store.grants_of_site(conn, site_id, order.id if order else None, customer_id)


async def grants_data(engine: AsyncEngine, grants: list[Grant]) -> list[dict[str, Any]]:
    """``grant_data`` of each grant, its customer and order read in two queries."""
    async with engine.connect() as conn:
        customers = {
            c.id: c for c in await store.customers_by_ids(conn, [g.customer_id for g in grants])
        }
    orders = {o.id: o for o in await payments.orders_by_ids(engine, [g.order_id for g in grants])}
    return [grant_data(g, customers[g.customer_id], orders[g.order_id]) for g in grants]
