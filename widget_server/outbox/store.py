"""Outbox queries: webhook endpoints, messages with their delivery leases, and attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.outbox.tables import outbox, outbox_attempts, webhook_endpoints


@dataclass(frozen=True)
class WebhookEndpoint:
    id: int
    site_id: int
    url: str
    secret: str
    event_types: list[str]
    description: str
    is_active: bool
    created_at: datetime


@dataclass(frozen=True)
class Message:
    id: int
    site_id: int | None
    kind: str
    topic: str
    target: str
    endpoint_id: int | None
    payload: dict[str, Any]
    state: str
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Attempt:
    number: int
    started_at: datetime
    duration_ms: int
    ok: bool
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class AttemptResult:
    """What one delivery attempt came to. ``permanent``: retrying cannot help."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False


@dataclass(frozen=True)
class Claimed:
    """A message this worker holds the lease on, with its endpoint (webhooks) if it still exists."""

    message: Message
    lease_token: str
    endpoint: WebhookEndpoint | None


def _endpoint(row: Row[Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id,
        site_id=row.site_id,
        url=row.url,
        secret=row.secret,
        event_types=list(row.event_types),
        description=row.description,
        is_active=row.is_active,
        created_at=row.created_at,
    )


def _message(row: Row[Any]) -> Message:
    return Message(**{name: getattr(row, name) for name in Message.__dataclass_fields__})


# --- webhook endpoints -----------------------------------------------------------------------


async def insert_endpoint(
    conn: AsyncConnection,
    *,
    site_id: int,
    url: str,
    secret: str,
    event_types: list[str],
    description: str,
    now: datetime,
) -> WebhookEndpoint:
    values = {
        "site_id": site_id,
        "url": url,
        "secret": secret,
        "event_types": event_types,
        "description": description,
        "is_active": True,
        "created_at": now,
    }
    query = insert(webhook_endpoints).values(**values).returning(*webhook_endpoints.c)
    return _endpoint((await conn.execute(query)).one())


async def endpoints_of_site(conn: AsyncConnection, site_id: int) -> list[WebhookEndpoint]:
    query = (
        select(webhook_endpoints)
        .where(webhook_endpoints.c.site_id == site_id)
        .order_by(webhook_endpoints.c.id)
    )
    return [_endpoint(row) for row in await conn.execute(query)]


async def endpoint(conn: AsyncConnection, site_id: int, endpoint_id: int) -> WebhookEndpoint | None:
    query = select(webhook_endpoints).where(
        webhook_endpoints.c.site_id == site_id, webhook_endpoints.c.id == endpoint_id
    )
    row = (await conn.execute(query)).first()
    return _endpoint(row) if row else None


async def set_endpoint_active(
    conn: AsyncConnection, site_id: int, endpoint_id: int, active: bool
) -> bool:
    result = await conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.site_id == site_id, webhook_endpoints.c.id == endpoint_id)
        .values(is_active=active)
    )
    return result.rowcount == 1


async def delete_endpoint(conn: AsyncConnection, site_id: int, endpoint_id: int) -> bool:
    result = await conn.execute(
        delete(webhook_endpoints).where(
            webhook_endpoints.c.site_id == site_id, webhook_endpoints.c.id == endpoint_id
        )
    )
    return result.rowcount == 1


# --- messages --------------------------------------------------------------------------------


async def insert_message(conn: AsyncConnection, **values: Any) -> int:
    query = insert(outbox).values(state="pending", attempts=0, **values).returning(outbox.c.id)
    return int((await conn.execute(query)).scalar_one())


async def claim_due(
    conn: AsyncConnection,
    *,
    token: str,
    now: datetime,
    lease_until: datetime,
    kinds: tuple[str, ...],
    limit: int,
) -> list[Claimed]:
    """Lease up to ``limit`` due messages to ``token`` and return them.

    Portable: the UPDATE repeats the due-and-free test, so of two workers racing for one row only
    one matches it (SQLite serialises writers; PostgreSQL re-checks the WHERE on the locked row).
    PostgreSQL also skips rows another worker is claiming right now instead of waiting for them.
    """
    free = or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now)
    due = (
        select(outbox.c.id)
        .where(
            outbox.c.state == "pending",
            outbox.c.next_attempt_at <= now,
            outbox.c.kind.in_(kinds),
            free,
        )
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    await conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()), outbox.c.state == "pending", free)
        .values(lease_token=token, lease_until=lease_until)
    )
    endpoint_columns = [c.label(f"ep_{c.name}") for c in webhook_endpoints.c]
    query = (
        select(outbox, *endpoint_columns)
        .select_from(
            outbox.outerjoin(webhook_endpoints, webhook_endpoints.c.id == outbox.c.endpoint_id)
        )
        .where(outbox.c.lease_token == token)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
    )
    claimed: list[Claimed] = []
    for row in await conn.execute(query):
        found = None
        if row.ep_id is not None:
            mapping = row._mapping
            found = WebhookEndpoint(
                **{name: mapping[f"ep_{name}"] for name in WebhookEndpoint.__dataclass_fields__}
            )
        claimed.append(Claimed(message=_message(row), lease_token=token, endpoint=found))
    return claimed


async def finish_attempt(
    conn: AsyncConnection,
    *,
    message_id: int,
    token: str,
    attempt: Attempt,
    state: str,
    next_attempt_at: datetime | None,
    now: datetime,
) -> bool:
    """Record an attempt and move the message on, if this worker still holds its lease."""
    values: dict[str, Any] = {
        "state": state,
        "attempts": outbox.c.attempts + 1,
        "lease_token": None,
        "lease_until": None,
        "last_error": attempt.error,
        "finished_at": now if state != "pending" else None,
    }
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.id == message_id, outbox.c.lease_token == token)
        .values(**values)
    )
    if result.rowcount != 1:
        return False
    await conn.execute(
        insert(outbox_attempts).values(
            outbox_id=message_id,
            number=attempt.number,
            started_at=attempt.started_at,
            duration_ms=attempt.duration_ms,
            ok=attempt.ok,
            status_code=attempt.status_code,
            error=attempt.error,
        )
    )
    return True


async def retry(conn: AsyncConnection, site_id: int, message_id: int, now: datetime) -> bool:
    """Make a pending or failed message due now (a message being delivered keeps its lease)."""
    result = await conn.execute(
        update(outbox)
        .where(
            outbox.c.id == message_id,
            outbox.c.site_id == site_id,
            outbox.c.state.in_(("pending", "failed")),
        )
        .values(state="pending", next_attempt_at=now, finished_at=None)
    )
    return result.rowcount == 1


async def messages_of_site(
    conn: AsyncConnection,
    site_id: int,
    *,
    kind: str | None,
    state: str | None,
    limit: int,
    offset: int,
) -> list[Message]:
    """Newest first."""
    query = select(outbox).where(outbox.c.site_id == site_id)
    if kind is not None:
        query = query.where(outbox.c.kind == kind)
    if state is not None:
        query = query.where(outbox.c.state == state)
    query = query.order_by(outbox.c.id.desc()).limit(limit).offset(offset)
    return [_message(row) for row in await conn.execute(query)]


async def message(conn: AsyncConnection, site_id: int, message_id: int) -> Message | None:
    query = select(outbox).where(outbox.c.id == message_id, outbox.c.site_id == site_id)
    row = (await conn.execute(query)).first()
    return _message(row) if row else None


async def attempts_of(conn: AsyncConnection, message_id: int) -> list[Attempt]:
    query = (
        select(outbox_attempts)
        .where(outbox_attempts.c.outbox_id == message_id)
        .order_by(outbox_attempts.c.number, outbox_attempts.c.id)
    )
    return [
        Attempt(**{name: getattr(row, name) for name in Attempt.__dataclass_fields__})
        for row in await conn.execute(query)
    ]


async def count_pending(conn: AsyncConnection, site_id: int, kind: str) -> int:
    query = select(func.count()).where(
        outbox.c.site_id == site_id, outbox.c.kind == kind, outbox.c.state == "pending"
    )
    return int(await conn.scalar(query) or 0)
