from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Table

from widget_server.db.metadata import UTCDateTime, metadata

files = Table(
    "files",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE")),
    Column("purpose", String(32), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
