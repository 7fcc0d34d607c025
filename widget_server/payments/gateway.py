"""The port every payment gateway adapter implements, and the choice of adapter."""

from __future__ import annotations

from typing import Protocol

from widget_server.errors import ServiceUnavailable
from widget_server.i18n import _
from widget_server.payments.models import Checkout, Order
from widget_server.settings import Settings


class Gateway(Protocol):
    name: str

    async def create_checkout(
        self, order: Order, product_name: str, success_url: str, cancel_url: str
    ) -> Checkout:
        """A page where the buyer pays ``order``; repeated for one order, the same page."""
        ...

    async def refund(self, order: Order, amount: int) -> None:
        """Give back ``amount`` (minor units); ``order.refunded_amount`` already includes it."""
        ...


def card_gateway(settings: Settings) -> Gateway:
    """Stripe when a key is configured, else the sandbox (no real money moves) in development.

    In production without a key, card payments are unavailable: a sandbox there would let
    anyone "pay" with its buttons and be fulfilled for free."""
    if settings.stripe_secret_key:
        from widget_server.payments.stripe_gateway import StripeGateway

        return StripeGateway(settings.stripe_secret_key, settings.stripe_api_base)
    if settings.env == "production":
        raise ServiceUnavailable(_("Card payments are not configured (STRIPE_SECRET_KEY)."))
    from widget_server.payments.sandbox import SandboxGateway

    return SandboxGateway(settings.base_url)
