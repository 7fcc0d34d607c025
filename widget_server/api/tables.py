from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from widget_server.db.metadata import UTCDateTime, metadata

# A POST's response, kept for 24 h under the caller's Idempotency-Key so a retried request gets
# the first answer instead of doing the work twice.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("api_key_id", Integer, ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer),
    Column("response", Text),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("api_key_id", "key"),
)
