"""Counter schema. Every later object (chat, order, ticket) joins a visit by (site_id, number)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from widget_server.db.metadata import UTCDateTime, metadata

# A 64-bit key on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-numbered row id.
BigId = BigInteger().with_variant(Integer(), "sqlite")

counter_settings = Table(
    "counter_settings",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("honour_dnt", Boolean, nullable=False, default=False),
    Column("require_consent", Boolean, nullable=False, default=False),
    Column("track_outbound", Boolean, nullable=False, default=False),
    Column("track_downloads", Boolean, nullable=False, default=False),
    Column("hash_routing", Boolean, nullable=False, default=False),
    Column("allow_bots", Boolean, nullable=False, default=False),
    # IP addresses and CIDR blocks whose hits are dropped (the owner's office, say).
    Column("excluded_ips", JSON, nullable=False),
    # Event names the owner counts as conversions.
    Column("goals", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Visit numbers are handed out in blocks: a process reserves a block with one conditional UPDATE
# and assigns numbers from memory, so ingestion writes nothing per request and two processes
# never give out one number.
visit_numbers = Table(
    "visit_numbers",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("next_number", BigInteger, nullable=False),
)

visits = Table(
    "visits",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("visitor_id", String(40), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("landing_url", String(2048), nullable=False),
    Column("landing_path", String(1024), nullable=False),
    Column("referrer", String(2048), nullable=False),
    Column("referrer_domain", String(255), nullable=False),
    Column("utm_source", String(255), nullable=False),
    Column("utm_medium", String(255), nullable=False),
    Column("utm_campaign", String(255), nullable=False),
    Column("utm_term", String(255), nullable=False),
    Column("utm_content", String(255), nullable=False),
    Column("click_id_kind", String(16), nullable=False),  # gclid, yclid, fbclid, msclkid, ttclid
    Column("click_id", String(255), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("device", String(16), nullable=False),  # desktop, mobile, tablet
    UniqueConstraint("site_id", "number"),
    CheckConstraint(
        "channel IN ('ads', 'search', 'social', 'referral', 'email', 'direct')", name="channel"
    ),
    Index("ix_visits_site_started", "site_id", "started_at"),
)

pageviews = Table(
    "pageviews",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visit_number", BigInteger, nullable=False),
    Column("visitor_id", String(40), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_pageviews_site_at", "site_id", "at"),
    Index("ix_pageviews_site_visit", "site_id", "visit_number"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visit_number", BigInteger),  # server-side events may have none
    Column("visitor_id", String(40)),
    Column("name", String(120), nullable=False),
    Column("props", JSON, nullable=False),
    Column("origin", String(8), nullable=False),  # browser, server
    Column("at", UTCDateTime, nullable=False),
    CheckConstraint("origin IN ('browser', 'server')", name="origin"),
    Index("ix_events_site_at", "site_id", "at"),
    Index("ix_events_site_visit", "site_id", "visit_number"),
)
