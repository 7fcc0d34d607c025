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
)

from widget_server.db.metadata import UTCDateTime, metadata

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("secret", String(128), nullable=False),
    # Empty list: every event type.
    Column("event_types", JSON, nullable=False),
    Column("description", String(255), nullable=False, default=""),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# One row per message to deliver: kind 'mail' (target = recipient address) or 'webhook'
# (target = endpoint URL). Workers claim rows with a lease (lease_token, lease_until), so two
# processes never deliver one row at once; state moves pending -> sent | failed exactly once.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE")),
    Column("kind", String(16), nullable=False),
    Column("topic", String(255), nullable=False),
    Column("target", String(2048), nullable=False),
    Column("endpoint_id", Integer, ForeignKey("webhook_endpoints.id", ondelete="SET NULL")),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_token", String(36)),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    CheckConstraint("kind IN ('mail', 'webhook')", name="kind"),
    CheckConstraint("state IN ('pending', 'sent', 'failed')", name="state"),
    Index("ix_outbox_due", "state", "next_attempt_at"),
    Index("ix_outbox_site_created", "site_id", "created_at"),
)

outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Index("ix_outbox_attempts_outbox_id", "outbox_id"),
)
