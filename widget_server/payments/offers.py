"""Offers: what a site sells. Validation names every bad field at once (422)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.accounts.models import Access
from widget_server.accounts.service import require_admin
from widget_server.db.metadata import utcnow
from widget_server.errors import Conflict, InvalidRequest, NotFound, field_error
from widget_server.i18n import _
from widget_server.payments import store
from widget_server.payments.models import Offer

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
CURRENCY = re.compile(r"^[a-z]{3}$")
METHODS = ("card", "cash", "bank_transfer", "pay_later")
GRANT_KINDS = ("url", "file", "page")
CUSTOMER_FIELDS = ("name", "phone")  # what an offer may ask a new customer for
TEXTS = {"description": 5000, "success_text": 5000, "failure_text": 5000, "bank_instructions": 5000}


def offer_data(offer: Offer) -> dict[str, Any]:
    return {
        "slug": offer.slug,
        "name": offer.name,
        "description": offer.description,
        "amount": offer.amount,
        "currency": offer.currency,
        "guest_allowed": offer.guest_allowed,
        "success_text": offer.success_text,
        "failure_text": offer.failure_text,
        "methods": offer.methods,
        "bank_instructions": offer.bank_instructions,
        "grants": offer.grants,
        "customer_fields": offer.customer_fields,
        "active": offer.active,
        "created_at": offer.created_at.isoformat(),
        "updated_at": offer.updated_at.isoformat(),
    }


def clean_offer(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The columns to write; InvalidRequest listing every broken rule."""
    details: list[dict[str, Any]] = []
    values: dict[str, Any] = {}

    def bad(name: str, message: str, code: str = "invalid") -> None:
        details.append(field_error(name, message, code))

    def present(name: str) -> bool:
        if name in body:
            return True
        if not partial and name in ("slug", "name", "amount", "currency"):
            bad(name, _("This field is required."), "required")
        return False

    if partial and "slug" in body:
        bad("slug", _("The slug of an offer cannot change."), "immutable")
    if not partial and present("slug"):
        slug = body["slug"]
        if not isinstance(slug, str) or not SLUG.match(slug):
            bad("slug", _("The slug must be 1 to 64 characters: a-z, 0-9 and inner hyphens."))
        else:
            values["slug"] = slug
    if present("name"):
        name = body["name"]
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
            bad("name", _("The name must be 1 to 200 characters."))
        else:
            values["name"] = name.strip()
    if present("amount"):
        amount = body["amount"]
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount < 10**9:
            bad("amount", _("The amount must be a positive whole number of minor units (cents)."))
        else:
            values["amount"] = amount
    if present("currency"):
        currency = body["currency"]
        if not isinstance(currency, str) or not CURRENCY.match(currency):
            bad("currency", _("The currency must be a 3-letter lowercase ISO 4217 code."))
        else:
            values["currency"] = currency
    for name, limit in TEXTS.items():
        if name in body:
            text = body[name]
            if not isinstance(text, str) or len(text) > limit:
                bad(name, _("This must be text of at most {n} characters.").format(n=limit))
            else:
                values[name] = text
    for name in ("guest_allowed", "active"):
        if name in body:
            if not isinstance(body[name], bool):
                bad(name, _("This must be true or false."))
            else:
                values[name] = body[name]
    if "methods" in body:
        methods = body["methods"]
        if not isinstance(methods, list) or not methods or any(m not in METHODS for m in methods):
            bad(
                "methods",
                _("Methods must be a non-empty list of: {names}.").format(names=", ".join(METHODS)),
            )
        else:
            values["methods"] = [m for m in METHODS if m in methods]
    if "grants" in body:
        grants = body["grants"]
        if grants is not None and (
            not isinstance(grants, dict)
            or grants.get("kind") not in GRANT_KINDS
            or not isinstance(grants.get("value"), str | int)
            or (
                grants["kind"] == "url"
                and not str(grants["value"]).startswith(("https://", "http://"))
            )
        ):
            bad(
                "grants",
                _(
                    'Grants must be {"kind": "url"|"file"|"page", "value": ...}; a url starts with https://.'
                ),
            )
        else:
            values["grants"] = grants
    if "customer_fields" in body:
        fields = body["customer_fields"]
        if not isinstance(fields, list) or any(f not in CUSTOMER_FIELDS for f in fields):
            message = _("Customer fields must be a list of: {names}.")
            bad("customer_fields", message.format(names=", ".join(CUSTOMER_FIELDS)))
        else:
            values["customer_fields"] = [f for f in CUSTOMER_FIELDS if f in fields]
    unknown = set(body) - {
        "slug",
        "name",
        "amount",
        "currency",
        "guest_allowed",
        "active",
        "methods",
        "grants",
        "customer_fields",
        *TEXTS,
    }
    for name in sorted(unknown):
        bad(name, _("Unknown field."), "unknown")
    if details:
        raise InvalidRequest(" ".join(d["message"] for d in details), details=details)
    return values


async def create_offer(access: Access, engine: AsyncEngine, body: dict[str, Any]) -> Offer:
    require_admin(access)
    return await create_site_offer(engine, access.site.id, body)


async def create_site_offer(engine: AsyncEngine, site_id: int, body: dict[str, Any]) -> Offer:
    """For a trusted caller of the site (its secret key or an admin)."""
    values = clean_offer(body, partial=False)
    now = utcnow()
    values.setdefault("methods", ["card"])
    values.setdefault("customer_fields", [])
    try:
        async with engine.begin() as conn:
            return await store.insert_offer(
                conn, {**values, "site_id": site_id, "created_at": now, "updated_at": now}
            )
    except IntegrityError as exc:
        raise Conflict(_("An offer with this slug already exists.")) from exc


async def update_offer(
    access: Access, engine: AsyncEngine, slug: str, body: dict[str, Any]
) -> Offer:
    require_admin(access)
    return await update_site_offer(engine, access.site.id, slug, body)


async def update_site_offer(
    engine: AsyncEngine, site_id: int, slug: str, body: dict[str, Any]
) -> Offer:
    """Change only the fields in ``body`` (the slug stays), validated as on creation."""
    values = clean_offer(body, partial=True)
    async with engine.begin() as conn:
        offer = await store.update_offer(conn, site_id, slug, {**values, "updated_at": utcnow()})
    if offer is None:
        raise NotFound(_("There is no such offer."))
    return offer


async def list_offers(engine: AsyncEngine, site_id: int) -> list[Offer]:
    async with engine.connect() as conn:
        return await store.offers_of_site(conn, site_id)


async def get_offer(engine: AsyncEngine, site_id: int, slug: str) -> Offer:
    async with engine.connect() as conn:
        offer = await store.offer_by_slug(conn, site_id, slug)
    if offer is None:
        raise NotFound(_("There is no such offer."))
    return offer


async def offer_by_id(engine: AsyncEngine, offer_id: int) -> Offer | None:
    async with engine.connect() as conn:
        return await store.offer_by_id(conn, offer_id)
