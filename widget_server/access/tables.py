"""Customers of a site (buyers, not console users), their access grants and e-mailed links."""

from __future__ import annotations

from sqlalchemy import (
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

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),  # lowercased
    Column("name", String(200), nullable=False, default=""),
    Column("phone", String(40), nullable=False, default=""),
    Column("password_hash", String(255)),
    Column("session_epoch", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("site_id", "email", name="uq_customers_site_email"),
)

# One grant per order: the fulfilment hook inserts it, a redelivery finds the unique key taken.
access_grants = Table(
    "access_grants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("offer_id", Integer, ForeignKey("offers.id", ondelete="SET NULL")),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("value", Text, nullable=False),
    Column("status", String(8), nullable=False, default="active"),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    UniqueConstraint("order_id", name="uq_access_grants_order"),
    CheckConstraint("status IN ('active', 'revoked')", name="status"),
    Index("ix_access_grants_customer", "customer_id"),
)

# Single-use, expiring log-in links; only the SHA-256 of the token is stored.
magic_links = Table(
    "magic_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    Index("ix_magic_links_customer_created", "customer_id", "created_at"),
)

# Paid orders whose payment reported no e-mail: an admin grants access by hand.
manual_access = Table(
    "manual_access",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("flagged_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    UniqueConstraint("order_id", name="uq_manual_access_order"),
)
