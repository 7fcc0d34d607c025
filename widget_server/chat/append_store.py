"""Appending a message, the chat's hottest write: the conversation's next ``seq`` taken with an
``UPDATE … RETURNING`` and the row inserted, together or not at all. Inside the caller's
transaction (``append_message``), or as a write of its own in a group commit
(``append_message_alone``, ``db/group_commit.py``). The statements are built once per shape:
building one (and its cache key) cost more than running it."""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Update, bindparam, func, insert, select, true, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from widget_server.chat.models import Conversation, Kind, from_mapping, from_row
from widget_server.chat.tables import chat_messages, conversations
from widget_server.db import group_commit
from widget_server.db.group_commit import Prepared


@functools.cache
def _next_seq_statement(
    with_text: bool, reopen_pending: bool, unread_for: str | None, of_visitor: bool
) -> Update:
    """One UPDATE … RETURNING per shape, built once: a chat message is the hottest write, and
    building the statement (and its cache key) cost more than running it."""
    values: dict[str, Any] = {
        "last_seq": conversations.c.last_seq + 1,
        "updated_at": bindparam("b_now", type_=conversations.c.updated_at.type),
    }
    if with_text:  # a message the visitor sees (notes have no preview)
        values["last_text"] = bindparam("b_last_text", type_=conversations.c.last_text.type)
        values["prev_visible_seq"] = conversations.c.last_visible_seq  # the old value
        values["last_visible_seq"] = conversations.c.last_seq + 1
    if unread_for is not None:  # "visitor" or "operator": one more message they have not read
        counter = conversations.c[f"{unread_for}_unread"]
        values[counter.key] = counter + 1
    if reopen_pending:
        values["status"] = func.coalesce(
            func.nullif(conversations.c.status, "pending"), "open"
        )  # a visitor's message brings a pending chat back to open
    query = (
        update(conversations)
        .where(
            conversations.c.id == bindparam("b_conversation_id"),
            conversations.c.status != "resolved",
        )
        .values(**values)
        .returning(*conversations.c)
    )
    if of_visitor:
        query = query.where(conversations.c.visitor_id == bindparam("b_visitor_id"))
    return query


async def next_seq(
    conn: AsyncConnection,
    conversation_id: int,
    *,
    now: datetime,
    last_text: str | None,
    reopen_pending: bool,
    unread_for: str | None = None,
    visitor_id: int | None = None,
) -> Conversation | None:
    """The conversation with its next sequence number taken (``last_seq``), atomically (one
    UPDATE … RETURNING: the row lock on PostgreSQL, the write lock on SQLite); None when it is
    resolved or gone (or, with ``visitor_id``, not that visitor's)."""
    query = _next_seq_statement(
        last_text is not None, reopen_pending, unread_for, visitor_id is not None
    )
    params = _next_seq_params(conversation_id, now, last_text, visitor_id)
    row = (await conn.execute(query, params)).first()
    return None if row is None else from_row(Conversation, row)


def _next_seq_params(
    conversation_id: int, now: datetime, last_text: str | None, visitor_id: int | None
) -> dict[str, Any]:
    params: dict[str, Any] = {"b_conversation_id": conversation_id, "b_now": now}
    if last_text is not None:
        params["b_last_text"] = last_text[:200]
    if visitor_id is not None:
        params["b_visitor_id"] = visitor_id
    return params


_INSERT_MESSAGE = insert(chat_messages)  # built once: the hottest insert (see next_seq)


_MESSAGE_COLUMNS = (
    "conversation_id", "seq", "kind", "author_id", "client_id", "text", "file_id", "created_at",
)  # fmt: skip


@functools.cache
def _append_statement(
    with_text: bool, reopen_pending: bool, unread_for: str | None, of_visitor: bool
) -> Select[Any]:
    """PostgreSQL: the next seq taken and the message stored by one statement (a data-modifying
    CTE feeding an INSERT … SELECT), so a message is one round trip with no BEGIN or COMMIT of
    its own; a duplicate client id fails the whole statement, the UPDATE included."""
    taken = _next_seq_statement(with_text, reopen_pending, unread_for, of_visitor).cte("taken")

    def value(name: str) -> Any:
        return bindparam(f"b_{name}", type_=chat_messages.c[name].type)

    stored = (
        insert(chat_messages)
        .from_select(
            _MESSAGE_COLUMNS,
            select(
                taken.c.id,
                taken.c.last_seq,
                *(value(name) for name in _MESSAGE_COLUMNS[2:]),
            ),
        )
        .returning(chat_messages.c.id, chat_messages.c.client_id)
        .cte("stored")
    )
    return select(
        taken, stored.c.id.label("message_id"), stored.c.client_id.label("message_client_id")
    ).select_from(taken.join(stored, true()))


@dataclass(frozen=True)
class NewMessage:
    """A message to append: the row's values, and how the conversation changes with it."""

    conversation_id: int
    now: datetime
    last_text: str | None  # the conversation's new preview (None: unchanged, as for a note)
    reopen_pending: bool  # a pending conversation becomes open again
    unread_for: str | None  # "visitor" or "operator": one more message they have not read
    visitor_id: int | None  # only into a conversation of this visitor's
    kind: Kind
    author_id: int | None
    client_id: str
    text: str
    file_id: str | None

    @property
    def shape(self) -> tuple[bool, bool, str | None, bool]:
        """Which of the statements built once (``_next_seq_statement``) it takes."""
        return (
            self.last_text is not None,
            self.reopen_pending,
            self.unread_for,
            self.visitor_id is not None,
        )

    def seq_params(self) -> dict[str, Any]:
        return _next_seq_params(self.conversation_id, self.now, self.last_text, self.visitor_id)

    def row(self) -> dict[str, Any]:
        """The message row's values but its ``seq``."""
        return {
            "conversation_id": self.conversation_id, "kind": self.kind,
            "author_id": self.author_id, "client_id": self.client_id, "text": self.text,
            "file_id": self.file_id, "created_at": self.now,
        }  # fmt: skip


async def append_message(conn: AsyncConnection, new: NewMessage) -> tuple[Conversation, int] | None:
    """``next_seq`` and ``insert_message`` together: the conversation with its new ``last_seq``
    and the stored message's id, or None as ``next_seq``. Raises IntegrityError as
    ``insert_message``. One statement on PostgreSQL (any connection, autocommit included); two
    on SQLite, which cannot put an UPDATE in a WITH (the caller's transaction holds them)."""
    if conn.dialect.name != "postgresql":
        conversation = await next_seq(
            conn, new.conversation_id, now=new.now, last_text=new.last_text,
            reopen_pending=new.reopen_pending, unread_for=new.unread_for,
            visitor_id=new.visitor_id,
        )  # fmt: skip
        if conversation is None:
            return None
        return conversation, await insert_message(conn, seq=conversation.last_seq, **new.row())
    params = _append_params(new)
    row = (await conn.execute(_append_statement(*new.shape), params)).first()
    return None if row is None else (from_row(Conversation, row), int(row.message_id))


def _append_params(new: NewMessage) -> dict[str, Any]:
    """``_append_statement``'s parameters."""
    params = new.seq_params()  # b_conversation_id: the same in both
    params.update({f"b_{name}": value for name, value in new.row().items()})
    return params


async def append_message_alone(
    engine: AsyncEngine, new: NewMessage
) -> tuple[Conversation, int] | None:
    """``append_message`` as a write of its own, committed when this returns, in a group commit
    (``db/group_commit.py``) with the other messages arriving meanwhile: on PostgreSQL the one
    statement, on SQLite the UPDATE and the INSERT, both prepared once."""
    if engine.dialect.name == "postgresql":
        appending = _prepared_postgres_append(engine.dialect, *new.shape)
        row = await group_commit.fetch_row(
            engine,
            appending.sql,
            appending.parameters(_append_params(new)),
            key=(new.conversation_id, new.client_id),
            key_columns=(appending.column("id"), appending.column("message_client_id")),
        )
        if row is None:
            return None
        values = appending.row(row)
        return from_mapping(Conversation, values), int(values["message_id"])
    taking, storing = _prepared_sqlite_append(engine.dialect, *new.shape)
    take = taking.parameters(new.seq_params())
    put = storing.parameters({"seq": 0, **new.row()})
    seq_at, last_seq_at = storing.position("seq"), taking.column("last_seq")

    def work(db: sqlite3.Connection) -> tuple[Any, int | None] | None:
        row = db.execute(taking.sql, take).fetchone()
        if row is None:
            return None
        put[seq_at] = row[last_seq_at]
        return row, db.execute(storing.sql, put).lastrowid

    done = await group_commit.run(engine, work)
    if done is None:
        return None
    row, message_id = done
    assert message_id is not None
    return from_mapping(Conversation, taking.row(row)), message_id


@functools.lru_cache(maxsize=16)
def _prepared_sqlite_append(
    dialect: Dialect,
    with_text: bool,
    reopen_pending: bool,
    unread_for: str | None,
    of_visitor: bool,
) -> tuple[Prepared, Prepared]:
    taking = _next_seq_statement(with_text, reopen_pending, unread_for, of_visitor)
    return (
        Prepared(taking, dialect, returns=conversations.c),
        Prepared(_INSERT_MESSAGE, dialect, column_keys=_MESSAGE_COLUMNS),
    )


@functools.lru_cache(maxsize=16)
def _prepared_postgres_append(
    dialect: Dialect,
    with_text: bool,
    reopen_pending: bool,
    unread_for: str | None,
    of_visitor: bool,
) -> Prepared:
    query = _append_statement(with_text, reopen_pending, unread_for, of_visitor)
    return Prepared(query, dialect, returns=query.selected_columns)


async def insert_message(conn: AsyncConnection, **values: Any) -> int:
    """Raises IntegrityError when the conversation already has this client id."""
    result = await conn.execute(_INSERT_MESSAGE, values)
    return int(result.inserted_primary_key[0])  # type: ignore[index]
