"""SQL for stored idempotent responses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.api.tables import idempotency_keys


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    status: int | None  # None while the first request is still running
    body: str | None


async def claim_key(
    engine: AsyncEngine, api_key_id: int, key: str, request_hash: str, now: datetime
) -> bool:
    """Take the key for this request; False when an earlier request already took it."""
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(idempotency_keys).values(
                    api_key_id=api_key_id, key=key, request_hash=request_hash, created_at=now
                )
            )
    except IntegrityError:
        return False
    return True


async def stored_response(engine: AsyncEngine, api_key_id: int, key: str) -> StoredResponse | None:
    query = select(
        idempotency_keys.c.request_hash, idempotency_keys.c.status, idempotency_keys.c.response
    ).where(idempotency_keys.c.api_key_id == api_key_id, idempotency_keys.c.key == key)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return StoredResponse(row.request_hash, row.status, row.response) if row else None


async def save_response(
    engine: AsyncEngine, api_key_id: int, key: str, status: int, body: str
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.api_key_id == api_key_id, idempotency_keys.c.key == key)
            .values(status=status, response=body)
        )


async def release_key(engine: AsyncEngine, api_key_id: int, key: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            delete(idempotency_keys).where(
                idempotency_keys.c.api_key_id == api_key_id, idempotency_keys.c.key == key
            )
        )


async def purge_keys(engine: AsyncEngine, before: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < before))
