"""Chat file queries: which site (and visitor or operator) uploaded a file, its name and type."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.chat.models import ChatFile
from widget_server.chat.tables import chat_files


async def insert_chat_file(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(chat_files).values(**values))


async def chat_file(conn: AsyncConnection, site_id: int, file_id: str) -> ChatFile | None:
    query = select(chat_files).where(
        chat_files.c.site_id == site_id, chat_files.c.file_id == file_id
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return ChatFile(row.file_id, row.site_id, row.name, row.content_type, row.size)


async def chat_file_by_id(conn: AsyncConnection, file_id: str) -> ChatFile | None:
    row = (await conn.execute(select(chat_files).where(chat_files.c.file_id == file_id))).first()
    if row is None:
        return None
    return ChatFile(row.file_id, row.site_id, row.name, row.content_type, row.size)
