"""Plain values the payments package passes around."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

EventKind = Literal[
    "completed_paid",
    "completed_unpaid",
    "async_succeeded",
    "async_failed",
    "expired",
    "refunded",
]


@dataclass(frozen=True)
class Offer:
    id: int
    site_id: int
    slug: str
    name: str
    description: str
    amount: int
    currency: str
    guest_allowed: bool
    success_text: str
    failure_text: str
    methods: list[str]
    bank_instructions: str
    grants: dict[str, Any] | None
    customer_fields: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Order:
    id: int
    public_id: str
    site_id: int
    offer_id: int | None
    amount: int
    currency: str
    status: str
    refunded_amount: int
    gateway: str
    method: str
    checkout_id: str | None
    payment_id: str | None
    customer_email: str | None
    visit_number: int | None
    language: str | None  # the buyer's (en / fr / ru), for e-mails; None: not known
    visitor_key: str | None
    metadata: dict[str, Any]
    fulfilled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    offer_slug: str | None  # read with the order, not an orders column


@dataclass(frozen=True)
class PaymentEvent:
    """One gateway event, normalised. ``amount`` is the cumulative refunded amount for refunds."""

    kind: EventKind
    event_id: str
    order_ref: str | None = None  # our order public id
    checkout_id: str | None = None
    payment_id: str | None = None
    amount: int | None = None
    currency: str | None = None  # of ``amount`` for payments, when the gateway reports it
    email: str | None = None


@dataclass(frozen=True)
class Checkout:
    url: str
    checkout_id: str
