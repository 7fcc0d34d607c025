"""orders: the buyer's language (for the e-mails about an order) and an index by visit (revenue
per source); the fields an offer asks new customers for, and the customer's phone

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("language", sa.String(length=8), nullable=True))
    op.create_index("ix_orders_site_visit", "orders", ["site_id", "visit_number"], unique=False)
    op.add_column(
        "offers", sa.Column("customer_fields", sa.JSON(), nullable=False, server_default="[]")
    )
    op.add_column(
        "customers", sa.Column("phone", sa.String(length=40), nullable=False, server_default="")
    )


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("phone")
    with op.batch_alter_table("offers") as batch:
        batch.drop_column("customer_fields")
    op.drop_index("ix_orders_site_visit", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("language")
