"""Multiwidget queries: the settings row, reply templates, offline messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from widget_server.widgets.tables import offline_messages, reply_templates, widget_settings

SETTINGS_COLUMNS = (
    "chat_enabled",
    "default_language",
    "use_browser_language",
    "texts",
    "color",
    "position",
    "always_open",
    "hours",
    "offline_mode",
    "prechat",
    "identity_required",
    "identity_secret",
    "auto_assign",
)


@dataclass(frozen=True)
class ReplyTemplate:
    id: int
    site_id: int
    name: str
    text: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OfflineMessage:
    id: int
    site_id: int
    visitor_key: str
    visit_number: int | None
    name: str
    email: str
    phone: str
    text: str
    page_url: str
    params: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


# --- settings --------------------------------------------------------------------------------


async def settings_row(conn: AsyncConnection, site_id: int) -> dict[str, Any] | None:
    query = select(widget_settings).where(widget_settings.c.site_id == site_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def save_settings(
    engine: AsyncEngine,
    site_id: int,
    *,
    changes: dict[str, Any],
    first: dict[str, Any],
    now: datetime,
) -> None:
    """Apply ``changes`` to the site's row; when there is none yet, insert ``first`` (every
    column) with the changes laid over it. A racing insert turns into an update on the retry."""
    for _attempt in range(3):
        async with engine.begin() as conn:
            query = update(widget_settings).where(widget_settings.c.site_id == site_id)
            if (await conn.execute(query.values(**changes, updated_at=now))).rowcount:
                return
        try:
            async with engine.begin() as conn:
                values = {**first, **changes, "site_id": site_id, "updated_at": now}
                await conn.execute(insert(widget_settings).values(**values))
            return
        except IntegrityError:
            continue
    raise RuntimeError(f"could not save the widget settings of site {site_id}")


# --- reply templates -------------------------------------------------------------------------


def _template(row: Any) -> ReplyTemplate:
    return ReplyTemplate(
        id=row.id,
        site_id=row.site_id,
        name=row.name,
        text=row.text,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def templates_of(conn: AsyncConnection, site_id: int) -> list[ReplyTemplate]:
    query = (
        select(reply_templates)
        .where(reply_templates.c.site_id == site_id)
        .order_by(reply_templates.c.id)
    )
    return [_template(row) for row in await conn.execute(query)]


async def template_by_id(
    conn: AsyncConnection, site_id: int, template_id: int
) -> ReplyTemplate | None:
    query = select(reply_templates).where(
        reply_templates.c.site_id == site_id, reply_templates.c.id == template_id
    )
    row = (await conn.execute(query)).first()
    return _template(row) if row is not None else None


async def insert_template(
    conn: AsyncConnection, site_id: int, name: str, text: str, now: datetime
) -> int:
    query = insert(reply_templates).values(
        site_id=site_id, name=name, text=text, created_at=now, updated_at=now
    )
    result = await conn.execute(query.returning(reply_templates.c.id))
    return int(result.scalar_one())


async def update_template(
    conn: AsyncConnection, site_id: int, template_id: int, name: str, text: str, now: datetime
) -> bool:
    query = (
        update(reply_templates)
        .where(reply_templates.c.site_id == site_id, reply_templates.c.id == template_id)
        .values(name=name, text=text, updated_at=now)
    )
    return bool((await conn.execute(query)).rowcount)


async def delete_template(conn: AsyncConnection, site_id: int, template_id: int) -> bool:
    query = delete(reply_templates).where(
        reply_templates.c.site_id == site_id, reply_templates.c.id == template_id
    )
    return bool((await conn.execute(query)).rowcount)


# --- offline messages ------------------------------------------------------------------------


def _offline(row: Any) -> OfflineMessage:
    return OfflineMessage(
        id=row.id,
        site_id=row.site_id,
        visitor_key=row.visitor_key,
        visit_number=row.visit_number,
        name=row.name,
        email=row.email,
        phone=row.phone,
        text=row.text,
        page_url=row.page_url,
        params=dict(row.params or {}),
        created_at=row.created_at,
        read_at=row.read_at,
    )


async def offline_counts_since(
    conn: AsyncConnection, site_id: int, visitor_key: str, ip: str, since: datetime
) -> tuple[int, int, datetime | None]:
    """(messages from this visitor, from this IP, the oldest of them) since ``since``."""
    table = offline_messages
    recent = (table.c.site_id == site_id) & (table.c.created_at >= since)
    by_visitor = func.count().filter(table.c.visitor_key == visitor_key)
    by_ip = func.count().filter(table.c.ip == ip)
    oldest = func.min(table.c.created_at)
    query = select(by_visitor, by_ip, oldest).where(
        recent, or_(table.c.visitor_key == visitor_key, table.c.ip == ip)
    )
    row = (await conn.execute(query)).one()
    return int(row[0]), int(row[1]), row[2]


async def insert_offline(conn: AsyncConnection, **values: Any) -> OfflineMessage:
    query = insert(offline_messages).values(**values).returning(*offline_messages.c)
    return _offline((await conn.execute(query)).one())


async def offline_of(conn: AsyncConnection, site_id: int, limit: int) -> list[OfflineMessage]:
    query = (
        select(offline_messages)
        .where(offline_messages.c.site_id == site_id)
        .order_by(offline_messages.c.created_at.desc(), offline_messages.c.id.desc())
        .limit(limit)
    )
    return [_offline(row) for row in await conn.execute(query)]


async def unread_offline(conn: AsyncConnection, site_id: int) -> int:
    query = select(func.count()).where(
        offline_messages.c.site_id == site_id, offline_messages.c.read_at.is_(None)
    )
    return int((await conn.execute(query)).scalar_one())


async def mark_offline_read(
    conn: AsyncConnection, site_id: int, message_id: int, now: datetime
) -> bool:
    """Marks it read once (the first reader's time is kept); False when there is no such one."""
    exists = select(offline_messages.c.id).where(
        offline_messages.c.site_id == site_id, offline_messages.c.id == message_id
    )
    if (await conn.execute(exists)).first() is None:
        return False
    query = (
        update(offline_messages)
        .where(
            offline_messages.c.site_id == site_id,
            offline_messages.c.id == message_id,
            offline_messages.c.read_at.is_(None),
        )
        .values(read_at=now)
    )
    await conn.execute(query)
    return True
