"""conversations: the seq of the last message its visitor sees, and of the one before, so each
message tells the visitor which seq came before it (``prev``): a client that got seq 11 ahead of
seq 10 (two processes, one bus) knows it still misses one, and asks for it on reconnecting

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("last_visible_seq", "prev_visible_seq"):
        op.add_column(
            "conversations", sa.Column(name, sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE conversations SET last_visible_seq = COALESCE((SELECT MAX(seq) FROM chat_messages"
        " WHERE chat_messages.conversation_id = conversations.id"
        " AND chat_messages.kind <> 'note'), 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("prev_visible_seq")
        batch.drop_column("last_visible_seq")
