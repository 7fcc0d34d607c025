"""Lead queries (a conversation becomes a lead once: ``UNIQUE(conversation_id)``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.chat.models import Lead, from_row
from widget_server.chat.tables import leads


async def insert_lead(conn: AsyncConnection, **values: Any) -> int:
    """Raises IntegrityError when the conversation already is a lead."""
    result = await conn.execute(insert(leads).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def lead(conn: AsyncConnection, site_id: int, lead_id: int) -> Lead | None:
    query = select(leads).where(leads.c.site_id == site_id, leads.c.id == lead_id)
    row = (await conn.execute(query)).first()
    return from_row(Lead, row) if row else None


async def lead_of_conversation(conn: AsyncConnection, conversation_id: int) -> Lead | None:
    row = (
        await conn.execute(select(leads).where(leads.c.conversation_id == conversation_id))
    ).first()
    return from_row(Lead, row) if row else None


async def leads_of_site(
    conn: AsyncConnection, site_id: int, *, limit: int, conversation_ids: list[int] | None = None
) -> list[Lead]:
    query = select(leads).where(leads.c.site_id == site_id)
    if conversation_ids is not None:
        query = query.where(leads.c.conversation_id.in_(conversation_ids))
    query = query.order_by(leads.c.created_at.desc(), leads.c.id.desc()).limit(limit)
    return [from_row(Lead, row) for row in await conn.execute(query)]
