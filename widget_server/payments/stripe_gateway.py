"""Stripe: hosted Checkout Sessions, refunds and signed webhooks, through the official library.

Every call uses the library's async methods over its httpx client, so the event loop is never
blocked. ``STRIPE_API_BASE`` (a setting) points the client at another host, as tests do with a
loopback fake of the API.
"""

from __future__ import annotations

from typing import Any

import stripe

from widget_server.errors import BadRequest
from widget_server.payments.models import Checkout, EventKind, Order, PaymentEvent

_SESSION_EVENTS: dict[str, EventKind] = {
    "checkout.session.async_payment_succeeded": "async_succeeded",
    "checkout.session.async_payment_failed": "async_failed",
    "checkout.session.expired": "expired",
}


class _HTTPXClient(stripe.HTTPXClient):
    """The library's async httpx client, sending the encoded form as ``content=``: the library
    (16.1) passes it as ``data=<str>``, which httpx deprecates (and will remove)."""

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Any, post_data: Any
    ) -> list[Any]:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        if isinstance(kwargs.get("data"), str | bytes):
            kwargs["content"] = kwargs.pop("data")
        elif not kwargs.get("data"):
            kwargs.pop("data", None)
        return [args, kwargs]


class StripeGateway:
    name = "stripe"

    def __init__(self, api_key: str, api_base: str | None = None) -> None:
        self.api_key = api_key
        self.api_base = api_base

    def _client(self, http: _HTTPXClient) -> stripe.StripeClient:
        return stripe.StripeClient(
            self.api_key,
            http_client=http,
            base_addresses={"api": self.api_base} if self.api_base else None,
            max_network_retries=2,
        )

    async def create_checkout(
        self, order: Order, product_name: str, success_url: str, cancel_url: str
    ) -> Checkout:
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": order.currency,
                        "unit_amount": order.amount,
                        "product_data": {"name": product_name},
                    },
                }
            ],
            "client_reference_id": order.public_id,
            "metadata": {
                "order": order.public_id,
                "site": str(order.site_id),
                "visit": "" if order.visit_number is None else str(order.visit_number),
            },
            "success_url": success_url,
            "cancel_url": cancel_url,
            "locale": order.language or "auto",
        }
        if order.customer_email:
            params["customer_email"] = order.customer_email
        http = _HTTPXClient()
        try:
            session = await self._client(http).v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": "checkout-" + order.public_id},
            )
        finally:
            await http.close_async()  # type: ignore[no-untyped-call]
        if not session.url:
            raise BadRequest("Stripe returned a Checkout Session without a URL.")
        return Checkout(url=session.url, checkout_id=session.id)

    async def refund(self, order: Order, amount: int) -> None:
        """``order`` carries the refunded total including this refund (reserved first), so the
        idempotency key is unique per refund and a retry of the same refund reuses it."""
        http = _HTTPXClient()
        try:
            await self._client(http).v1.refunds.create_async(
                {"payment_intent": order.payment_id or "", "amount": amount},
                {"idempotency_key": f"refund-{order.public_id}-{order.refunded_amount}"},
            )
        finally:
            await http.close_async()  # type: ignore[no-untyped-call]


def parse_webhook(body: bytes, signature: str | None, secret: str | None) -> list[PaymentEvent]:
    """Verify the raw body's ``Stripe-Signature`` (and its age), then normalise the event."""
    if not secret:
        raise BadRequest("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).")
    try:
        event = stripe.Webhook.construct_event(body.decode("utf-8"), signature, secret)
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The Stripe signature is invalid or too old.") from exc
    raw = event.to_dict()
    obj: dict[str, Any] = raw["data"]["object"]
    kind = raw["type"]
    event_id = str(raw["id"])
    if kind == "charge.refunded":
        return [
            PaymentEvent(
                kind="refunded",
                event_id=event_id,
                payment_id=_id(obj.get("payment_intent")),
                amount=int(obj.get("amount_refunded") or 0),
            )
        ]
    if not kind.startswith("checkout.session."):
        return []
    if kind == "checkout.session.completed":
        session_kind: EventKind = (
            "completed_paid"
            if obj.get("payment_status") in ("paid", "no_payment_required")
            else "completed_unpaid"
        )
    elif kind in _SESSION_EVENTS:
        session_kind = _SESSION_EVENTS[kind]
    else:
        return []
    details = obj.get("customer_details") or {}
    return [
        PaymentEvent(
            kind=session_kind,
            event_id=event_id,
            order_ref=obj.get("client_reference_id"),
            checkout_id=obj.get("id"),
            payment_id=_id(obj.get("payment_intent")),
            amount=obj.get("amount_total"),
            currency=obj.get("currency"),
            email=details.get("email") or obj.get("customer_email"),
        )
    ]


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None
