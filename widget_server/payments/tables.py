"""Offers, orders, their timeline and the gateway events already handled."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from widget_server.db.metadata import UTCDateTime, metadata

offers = Table(
    "offers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("amount", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("guest_allowed", Boolean, nullable=False, default=True),
    Column("success_text", Text, nullable=False, default=""),
    Column("failure_text", Text, nullable=False, default=""),
    Column("methods", JSON, nullable=False),
    Column("bank_instructions", Text, nullable=False, default=""),
    Column("grants", JSON),
    # What a new customer fills in beside the password, from CUSTOMER_FIELDS ("name", "phone").
    Column("customer_fields", JSON, nullable=False, default=list),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("site_id", "slug", name="uq_offers_site_slug"),
    CheckConstraint("amount > 0", name="amount"),
)

ORDER_STATUSES = ("pending", "paid", "failed", "expired", "refunded", "partially_refunded")

# One row per purchase, whatever the gateway. ``fulfilled_at`` is set by the one UPDATE that
# moves the order to paid; only that UPDATE's caller runs the fulfilment hooks.
orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("offer_id", Integer, ForeignKey("offers.id", ondelete="SET NULL")),
    Column("amount", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(24), nullable=False, default="pending"),
    Column("refunded_amount", Integer, nullable=False, default=0),
    Column("gateway", String(16), nullable=False),
    Column("method", String(16), nullable=False),
    Column("checkout_id", String(255)),
    Column("payment_id", String(255)),
    Column("customer_email", String(320)),
    Column("visit_number", Integer),
    Column("language", String(8)),  # the buyer's, for the e-mails about this order (None: en)
    Column("visitor_key", String(64)),
    Column("metadata", JSON, nullable=False),
    Column("fulfilled_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("gateway", "checkout_id", name="uq_orders_gateway_checkout"),
    UniqueConstraint("gateway", "payment_id", name="uq_orders_gateway_payment"),
    CheckConstraint(
        "status IN ('pending', 'paid', 'failed', 'expired', 'refunded', 'partially_refunded')",
        name="status",
    ),
    CheckConstraint("gateway IN ('stripe', 'sandbox', 'manual')", name="gateway"),
    CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refunded"),
    Index("ix_orders_site_created", "site_id", "created_at"),
    Index("ix_orders_site_visit", "site_id", "visit_number"),  # revenue per source
)

order_events = Table(
    "order_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("data", JSON, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_order_events_order", "order_id", "id"),
)

# A gateway event id seen once: inserting it again fails, so a redelivered event is a no-op.
processed_events = Table(
    "processed_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("gateway", String(16), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("gateway", "event_id", name="uq_processed_events_gateway_event"),
)
