"""Chat schema: the visitors who chat, their conversations, the messages, and leads.

Every write that must happen once rests on a key: a conversation is opened once per
(site, visitor, opening client id), a message is stored once per (conversation, client id) and
gets the next ``seq`` from one ``UPDATE … SET last_seq = last_seq + 1 RETURNING`` in the same
transaction, a conversation becomes a lead once.
"""

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
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from widget_server.db.metadata import UTCDateTime, metadata

# A 64-bit key on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-numbered row id.
BigId = BigInteger().with_variant(Integer(), "sqlite")

chat_visitors = Table(
    "chat_visitors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_key", String(40), nullable=False),  # the counter's anonymous visitor id
    # Set only from a verified identity (HMAC of the site's identity secret): verified ⇔ set.
    Column("external_id", String(255)),
    Column("name", String(120), nullable=False, default=""),
    Column("email", String(254), nullable=False, default=""),
    Column("phone", String(40), nullable=False, default=""),
    Column("verified", Boolean, nullable=False, default=False),
    Column("params", JSON, nullable=False),
    # From the latest session: what a conversation started over the socket is attributed to.
    Column("visit_number", BigInteger),
    Column("page_url", String(2048), nullable=False, default=""),
    Column("language", String(2), nullable=False, default="en"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "site_id", "external_id", name="uq_chat_visitors_site_external"
    ),  # NULLs are distinct on both backends
    Index("ix_chat_visitors_site_key", "site_id", "visitor_key"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column(
        "visitor_id", Integer, ForeignKey("chat_visitors.id", ondelete="CASCADE"), nullable=False
    ),
    Column("visit_number", BigInteger),
    Column("status", String(8), nullable=False),
    Column("assignee_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("assigned_at", UTCDateTime),
    # The client id of the message that opened it: a resent first message finds it again.
    Column("opening_client_id", String(64), nullable=False),
    Column("last_seq", Integer, nullable=False, default=0),
    # The last message the visitor sees (notes are not seen) and the one before it: each visitor
    # message frame carries ``prev``, so a client can tell a note's gap from a message still on
    # its way from another process.
    Column("last_visible_seq", Integer, nullable=False, default=0, server_default="0"),
    Column("prev_visible_seq", Integer, nullable=False, default=0, server_default="0"),
    Column("visitor_read_seq", Integer, nullable=False, default=0),
    Column("operator_read_seq", Integer, nullable=False, default=0),
    # Messages each side has not read yet (the visitor: operator and system messages past
    # visitor_read_seq; the operators: visitor messages past operator_read_seq), kept with every
    # message and read mark, so a message's summary needs no count.
    Column("visitor_unread", Integer, nullable=False, default=0),
    Column("operator_unread", Integer, nullable=False, default=0),
    Column("params", JSON, nullable=False),
    Column("page_url", String(2048), nullable=False, default=""),
    Column("language", String(2), nullable=False),
    Column("ip", String(45), nullable=False, default=""),
    Column("rating", SmallInteger),
    Column("rating_comment", Text),
    Column("last_text", String(200), nullable=False, default=""),
    # Transcripts e-mailed on the visitor's request: a few per conversation, no more.
    Column("transcripts_sent", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    UniqueConstraint("site_id", "visitor_id", "opening_client_id", name="uq_conversations_opening"),
    CheckConstraint("status IN ('new', 'open', 'pending', 'resolved')", name="status"),
    CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
    Index("ix_conversations_site_updated", "site_id", "updated_at"),
    Index("ix_conversations_visitor", "visitor_id", "created_at"),
    Index("ix_conversations_site_ip_created", "site_id", "ip", "created_at"),
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", BigId, primary_key=True),
    Column(
        "conversation_id",
        Integer,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("author_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("client_id", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("file_id", String(36), ForeignKey("chat_files.file_id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("conversation_id", "seq", name="uq_chat_messages_seq"),
    UniqueConstraint("conversation_id", "client_id", name="uq_chat_messages_client_id"),
    CheckConstraint("kind IN ('visitor', 'operator', 'note', 'system')", name="kind"),
    Index("ix_chat_messages_created", "created_at"),
)

# Files sent in chats: which site (and which visitor or operator) uploaded them, so a message can
# only reference a file of its own site, and its name, type and size for the frames.
chat_files = Table(
    "chat_files",
    metadata,
    Column("file_id", String(36), ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("visitor_id", Integer, ForeignKey("chat_visitors.id", ondelete="CASCADE")),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("name", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

leads = Table(
    "leads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column(
        "conversation_id",
        Integer,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("contact", JSON, nullable=False),  # {"name", "email", "phone"}
    Column("manager_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("transcript", JSON, nullable=False),  # visitor-visible messages, never notes
    Column("source", JSON),  # the visit's source, when the conversation had a visit
    Column("params", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_leads_site_created", "site_id", "created_at"),
)
