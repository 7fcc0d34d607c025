"""Multiwidget schema: one settings row per site, the site's reply templates, and the messages
visitors leave through the offline form."""

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
    Text,
)

from widget_server.db.metadata import UTCDateTime, metadata

widget_settings = Table(
    "widget_settings",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("chat_enabled", Boolean, nullable=False, default=False),
    Column("default_language", String(2), nullable=False),  # en, fr, ru
    Column("use_browser_language", Boolean, nullable=False, default=True),
    # {"en": {"title": …, "greeting": …, …}, "fr": {…}, "ru": {…}}: only what the owner changed;
    # the rest comes from the built-in texts of each language.
    Column("texts", JSON, nullable=False),
    Column("color", String(7), nullable=False),  # #rrggbb
    Column("position", String(5), nullable=False),  # right, left
    Column("always_open", Boolean, nullable=False, default=True),
    # {"mon": [["09:00", "18:00"]], …, "sun": []} in the site's time zone
    Column("hours", JSON, nullable=False),
    Column("offline_mode", String(5), nullable=False),  # hide, form
    # {"name": "off"|"optional"|"required", "email": …, "phone": …}
    Column("prechat", JSON, nullable=False),
    Column("identity_required", Boolean, nullable=False, default=False),
    Column("identity_secret", String(64), nullable=False),
    Column("auto_assign", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("position IN ('right', 'left')", name="position"),
    CheckConstraint("offline_mode IN ('hide', 'form')", name="offline_mode"),
)

reply_templates = Table(
    "reply_templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_reply_templates_site_name", "site_id", "name"),
)

offline_messages = Table(
    "offline_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_key", String(40), nullable=False),  # the counter's anonymous visitor id
    Column("visit_number", BigInteger),
    Column("ip", String(45), nullable=False),  # the sender's address, for the rate limit
    Column("name", String(120), nullable=False),
    Column("email", String(254), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("text", Text, nullable=False),
    Column("page_url", String(2048), nullable=False),
    Column("params", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
    Index("ix_offline_messages_site_created", "site_id", "created_at"),
)
