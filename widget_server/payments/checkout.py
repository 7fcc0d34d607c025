"""Opening a purchase: the order, then the page where the buyer pays (gateway or manual)."""

from __future__ import annotations

from typing import Any

from widget_server.errors import NotFound
from widget_server.i18n import _
from widget_server.payments import offers, service
from widget_server.payments.gateway import Gateway, card_gateway
from widget_server.payments.models import Offer, Order
from widget_server.runtime import Runtime


def gateway_named(state: Runtime, name: str) -> Gateway | None:
    """The adapter that handles orders of gateway ``name``; None for manual payments."""
    if name == "manual":
        return None
    found = card_gateway(state.settings)
    if found.name != name:
        raise NotFound(_("This order's payment gateway is no longer configured."))
    return found


async def active_offer(state: Runtime, site_id: int, slug: str) -> Offer:
    offer = await offers.get_offer(state.engine, site_id, slug)
    if not offer.active:
        raise NotFound(_("There is no such offer."))
    return offer


async def open_checkout(
    state: Runtime,
    offer: Offer,
    *,
    customer_email: str | None = None,
    metadata: dict[str, Any] | None = None,
    visit_number: int | None = None,
    success_url: str | None = None,
    cancel_url: str | None = None,
    language: str | None = None,
) -> tuple[Order, str]:
    """Create the order and its payment page: (order, URL to send the buyer to)."""
    base = state.settings.base_url.rstrip("/")
    card = "card" in offer.methods
    gateway = card_gateway(state.settings) if card else None
    order = await service.create_order(
        state.engine,
        offer,
        gateway=gateway.name if gateway else "manual",
        method="card" if card else offer.methods[0],
        customer_email=customer_email,
        visit_number=visit_number,
        metadata=metadata,
        language=language,
    )
    status_page = f"{base}/pay/order/{order.public_id}"
    if gateway is None:
        return order, status_page
    url = await service.start_checkout(
        state.engine,
        gateway,
        order,
        offer,
        success_url or status_page + "?session={CHECKOUT_SESSION_ID}",
        cancel_url or status_page,
    )
    return order, url
