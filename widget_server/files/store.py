"""SQL for stored files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.files.tables import files


@dataclass(frozen=True)
class StoredFile:
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes


async def insert_file(
    conn: AsyncConnection,
    *,
    file_id: str,
    site_id: int | None,
    purpose: str,
    filename: str,
    content_type: str,
    sha256: str,
    data: bytes,
    now: datetime,
) -> None:
    await conn.execute(
        insert(files).values(
            id=file_id,
            site_id=site_id,
            purpose=purpose,
            filename=filename,
            content_type=content_type,
            size=len(data),
            sha256=sha256,
            data=data,
            created_at=now,
        )
    )


async def file_by_id(conn: AsyncConnection, file_id: str) -> StoredFile | None:
    query = select(
        files.c.id,
        files.c.filename,
        files.c.content_type,
        files.c.size,
        files.c.sha256,
        files.c.data,
    ).where(files.c.id == file_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return StoredFile(row.id, row.filename, row.content_type, row.size, row.sha256, row.data)
