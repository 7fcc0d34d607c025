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
    UniqueConstraint,
)

from widget_server.db.metadata import UTCDateTime, metadata

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False),
    # Lower-cased e-mail: uniqueness is case-insensitive on both backends.
    Column("email_key", String(320), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("password_hash", String(255)),
    Column("avatar_file_id", String(36), ForeignKey("files.id", ondelete="SET NULL")),
    Column("is_staff", Boolean, nullable=False, default=False),
    Column("language", String(5)),
    # Bumped to end every console session of the user (password change, deactivation).
    Column("session_epoch", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(32), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("allowed_origins", JSON, nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("default_language", String(5), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("default_language IN ('en', 'fr', 'ru')", name="language"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("site_id", "user_id"),
    CheckConstraint("role IN ('owner', 'admin', 'operator')", name="role"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email_key", String(320), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("failed_at", UTCDateTime, nullable=False),
    Index("ix_login_failures_email_key_failed_at", "email_key", "failed_at"),
    Index("ix_login_failures_ip_failed_at", "ip", "failed_at"),
)
