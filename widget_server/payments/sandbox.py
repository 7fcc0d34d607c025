"""The sandbox gateway: a local payment page that drives the real state machine.

Used when no Stripe key is configured. Its buttons post a signed token of the order (no session
is needed) and become the same normalised PaymentEvents a Stripe webhook would produce.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeSerializer

from widget_server.errors import Forbidden, invalid
from widget_server.i18n import _
from widget_server.payments.models import Checkout, EventKind, Order, PaymentEvent

_SALT = "vitrine.payments.sandbox"
ACTIONS: dict[str, EventKind] = {
    "pay": "completed_paid",
    "fail": "async_failed",
    "later": "completed_unpaid",
    "confirm": "async_succeeded",
}


class SandboxGateway:
    name = "sandbox"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def create_checkout(
        self, order: Order, product_name: str, success_url: str, cancel_url: str
    ) -> Checkout:
        return Checkout(
            url=f"{self.base_url}/pay/sandbox/{order.public_id}",
            checkout_id="sbx_" + order.public_id,
        )

    async def refund(self, order: Order, amount: int) -> None:
        """Nothing to give back: no real money moved."""


def token(secret: str, public_id: str) -> str:
    return str(URLSafeSerializer(secret, salt=_SALT).dumps(public_id))


def check_token(secret: str, public_id: str, value: str) -> None:
    try:
        signed = URLSafeSerializer(secret, salt=_SALT).loads(value)
    except BadSignature as exc:
        raise Forbidden("This sandbox payment form is not valid.") from exc
    if signed != public_id:
        raise Forbidden("This sandbox payment form is for another order.")


def event_for(order: Order, action: str, email: str = "") -> PaymentEvent | None:
    """The event a button stands for; ``email`` is what the buyer typed, as Stripe's page
    would report it (empty: none, like a wallet that shares no e-mail)."""
    kind = ACTIONS.get(action)
    if kind is None:
        return None
    email = email.strip()
    if email and ("@" not in email or len(email) > 320):
        raise invalid("email", _("This is not an email address."))
    return PaymentEvent(
        kind=kind,
        event_id="sbx_evt_" + secrets.token_hex(8),
        order_ref=order.public_id,
        checkout_id=order.checkout_id,
        payment_id=None if kind == "completed_unpaid" else "sbx_pi_" + order.public_id,
        amount=order.amount,
        currency=order.currency,
        email=email or None,
    )
