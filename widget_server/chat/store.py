"""Chat queries: visitors, conversations, messages, counts for rate limits (a message's
append, the hottest write: ``append_store.py``; read marks: ``read_store.py``; files:
``file_store.py``; leads: ``lead_store.py``). Every function runs on the caller's connection,
inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.chat.models import (
    VISIBLE_TO_VISITOR,
    ChatFile,
    ChatMessage,
    ChatVisitor,
    Conversation,
    from_row,
)
from widget_server.chat.tables import chat_files, chat_messages, chat_visitors, conversations

# --- visitors --------------------------------------------------------------------------------


async def visitor_by_id(conn: AsyncConnection, visitor_id: int) -> ChatVisitor | None:
    row = (
        await conn.execute(select(chat_visitors).where(chat_visitors.c.id == visitor_id))
    ).first()
    return from_row(ChatVisitor, row) if row else None


async def visitor_by_external_id(
    conn: AsyncConnection, site_id: int, external_id: str
) -> ChatVisitor | None:
    query = select(chat_visitors).where(
        chat_visitors.c.site_id == site_id, chat_visitors.c.external_id == external_id
    )
    row = (await conn.execute(query)).first()
    return from_row(ChatVisitor, row) if row else None


async def insert_visitor(conn: AsyncConnection, **values: Any) -> int:
    result = await conn.execute(insert(chat_visitors).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def update_visitor(conn: AsyncConnection, visitor_id: int, **values: Any) -> None:
    await conn.execute(
        update(chat_visitors).where(chat_visitors.c.id == visitor_id).values(**values)
    )


async def visitors_by_ids(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, ChatVisitor]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await conn.execute(select(chat_visitors).where(chat_visitors.c.id.in_(wanted)))
    return {row.id: from_row(ChatVisitor, row) for row in rows}


# --- conversations ---------------------------------------------------------------------------


async def insert_conversation(conn: AsyncConnection, **values: Any) -> int:
    """Raises IntegrityError when the visitor already opened one with this client id."""
    result = await conn.execute(insert(conversations).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


async def conversation(conn: AsyncConnection, conversation_id: int) -> Conversation | None:
    query = select(conversations).where(conversations.c.id == conversation_id)
    row = (await conn.execute(query)).first()
    return from_row(Conversation, row) if row else None


async def conversation_by_opening(
    conn: AsyncConnection, site_id: int, visitor_id: int, client_id: str
) -> Conversation | None:
    query = select(conversations).where(
        conversations.c.site_id == site_id,
        conversations.c.visitor_id == visitor_id,
        conversations.c.opening_client_id == client_id,
    )
    row = (await conn.execute(query)).first()
    return from_row(Conversation, row) if row else None


async def conversations_of_visitor(
    conn: AsyncConnection, visitor_id: int, limit: int = 20
) -> list[Conversation]:
    query = (
        select(conversations)
        .where(conversations.c.visitor_id == visitor_id)
        .order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
        .limit(limit)
    )
    return [from_row(Conversation, row) for row in await conn.execute(query)]


def _site_list(site_id: int) -> Select[Any]:
    return select(conversations).where(conversations.c.site_id == site_id)


async def conversations_of_site(
    conn: AsyncConnection,
    site_id: int,
    *,
    statuses: tuple[str, ...],
    assignee: int | None = None,
    unassigned_or: int | None = None,
    limit: int = 100,
) -> list[Conversation]:
    """Newest first. ``assignee``: only that user's; ``unassigned_or``: unassigned ones and that
    user's (the operator's view)."""
    query = _site_list(site_id).where(conversations.c.status.in_(statuses))
    if assignee is not None:
        query = query.where(conversations.c.assignee_id == assignee)
    if unassigned_or is not None:
        query = query.where(
            or_(conversations.c.assignee_id.is_(None), conversations.c.assignee_id == unassigned_or)
        )
    query = query.order_by(conversations.c.updated_at.desc(), conversations.c.id.desc())
    return [from_row(Conversation, row) for row in await conn.execute(query.limit(limit))]


async def set_status(
    conn: AsyncConnection, conversation_id: int, status: str, now: datetime
) -> bool:
    values: dict[str, Any] = {"status": status, "updated_at": now}
    values["resolved_at"] = now if status == "resolved" else None
    query = (
        update(conversations)
        .where(conversations.c.id == conversation_id, conversations.c.status != status)
        .values(**values)
    )
    return bool((await conn.execute(query)).rowcount)


async def take(conn: AsyncConnection, conversation_id: int, user_id: int, now: datetime) -> bool:
    """Assign to ``user_id`` only if nobody has it: of two operators taking at once, one wins."""
    query = (
        update(conversations)
        .where(
            conversations.c.id == conversation_id,
            conversations.c.assignee_id.is_(None),
            conversations.c.status != "resolved",
        )
        .values(assignee_id=user_id, assigned_at=now, status="open", updated_at=now)
    )
    return bool((await conn.execute(query)).rowcount)


async def assign(conn: AsyncConnection, conversation_id: int, user_id: int, now: datetime) -> bool:
    query = (
        update(conversations)
        .where(conversations.c.id == conversation_id)
        .values(
            assignee_id=user_id,
            assigned_at=now,
            updated_at=now,
            status=func.coalesce(func.nullif(conversations.c.status, "new"), "open"),
        )
    )
    return bool((await conn.execute(query)).rowcount)


async def set_params_of_open(
    conn: AsyncConnection, visitor_id: int, params: dict[str, Any], now: datetime
) -> list[int]:
    query = (
        update(conversations)
        .where(conversations.c.visitor_id == visitor_id, conversations.c.status != "resolved")
        .values(params=params, updated_at=now)
        .returning(conversations.c.id)
    )
    return list((await conn.execute(query)).scalars())


async def rate(
    conn: AsyncConnection, conversation_id: int, score: int, comment: str, now: datetime
) -> bool:
    query = (
        update(conversations)
        .where(conversations.c.id == conversation_id, conversations.c.status == "resolved")
        .values(rating=score, rating_comment=comment, updated_at=now)
    )
    return bool((await conn.execute(query)).rowcount)


async def count_transcript(conn: AsyncConnection, conversation_id: int, limit: int) -> bool:
    """Count one more transcript mail, unless ``limit`` were already sent."""
    query = (
        update(conversations)
        .where(conversations.c.id == conversation_id, conversations.c.transcripts_sent < limit)
        .values(transcripts_sent=conversations.c.transcripts_sent + 1)
    )
    return bool((await conn.execute(query)).rowcount)


async def last_assigned(
    conn: AsyncConnection, site_id: int, user_ids: Iterable[int]
) -> dict[int, datetime]:
    """When each of these users was last given a chat of the site (round-robin)."""
    query = (
        select(conversations.c.assignee_id, func.max(conversations.c.assigned_at))
        .where(
            conversations.c.site_id == site_id,
            conversations.c.assignee_id.in_(list(user_ids)),
            conversations.c.assigned_at.is_not(None),
        )
        .group_by(conversations.c.assignee_id)
    )
    return {row[0]: row[1] for row in await conn.execute(query)}


# --- messages --------------------------------------------------------------------------------


def _messages() -> Select[Any]:
    return select(
        chat_messages,
        chat_files.c.file_id.label("f_id"),
        chat_files.c.site_id.label("f_site"),
        chat_files.c.name.label("f_name"),
        chat_files.c.content_type.label("f_type"),
        chat_files.c.size.label("f_size"),
    ).select_from(
        chat_messages.outerjoin(chat_files, chat_files.c.file_id == chat_messages.c.file_id)
    )


def _message(row: Any) -> ChatMessage:
    file = None
    if row.f_id is not None:
        file = ChatFile(row.f_id, row.f_site, row.f_name, row.f_type, row.f_size)
    return ChatMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        kind=row.kind,
        author_id=row.author_id,
        client_id=row.client_id,
        text=row.text,
        created_at=row.created_at,
        file=file,
    )


async def message_by_client_id(
    conn: AsyncConnection, conversation_id: int, client_id: str
) -> ChatMessage | None:
    query = _messages().where(
        chat_messages.c.conversation_id == conversation_id, chat_messages.c.client_id == client_id
    )
    row = (await conn.execute(query)).first()
    return _message(row) if row else None


async def visible_seq_before(conn: AsyncConnection, conversation_id: int, seq: int) -> int:
    """The seq of the last message before ``seq`` that the visitor sees (0: none)."""
    query = select(func.coalesce(func.max(chat_messages.c.seq), 0)).where(
        chat_messages.c.conversation_id == conversation_id,
        chat_messages.c.seq < seq,
        chat_messages.c.kind.in_(VISIBLE_TO_VISITOR),
    )
    return int((await conn.execute(query)).scalar_one())


async def message_by_id(conn: AsyncConnection, message_id: int) -> ChatMessage | None:
    row = (await conn.execute(_messages().where(chat_messages.c.id == message_id))).first()
    return _message(row) if row else None


async def messages_after(
    conn: AsyncConnection, conversation_id: int, seq: int, *, notes: bool, limit: int = 1000
) -> list[ChatMessage]:
    """Messages with a larger ``seq``, in order; notes only when ``notes``."""
    query = _messages().where(
        chat_messages.c.conversation_id == conversation_id, chat_messages.c.seq > seq
    )
    if not notes:
        query = query.where(chat_messages.c.kind.in_(VISIBLE_TO_VISITOR))
    query = query.order_by(chat_messages.c.seq).limit(limit)
    return [_message(row) for row in await conn.execute(query)]


async def conversations_started_since(
    conn: AsyncConnection, *, site_id: int, visitor_id: int | None, ip: str | None, since: datetime
) -> tuple[int, datetime | None]:
    """How many conversations the visitor (or the IP address) opened since then, and the oldest."""
    query = select(func.count(), func.min(conversations.c.created_at)).where(
        conversations.c.site_id == site_id, conversations.c.created_at >= since
    )
    if visitor_id is not None:
        query = query.where(conversations.c.visitor_id == visitor_id)
    if ip is not None:
        query = query.where(conversations.c.ip == ip)
    count, oldest = (await conn.execute(query)).one()
    return int(count), oldest
