"""Moving a read mark: the write that follows most messages of a live chat, as soon as the other
side's screen shows it. One ``UPDATE … RETURNING`` that moves the mark (never back, never past
the last message), counts again what that side has not read, and returns the conversation as
it left it; committed in a group commit (``db/group_commit.py``) with the other marks of the
moment, so it costs no transaction of its own and no read afterwards. Whether the mover may
see the conversation is part of the statement too, so the common case needs no read before."""

from __future__ import annotations

import functools
import itertools
import sqlite3
from typing import Any

from sqlalchemy import Integer, String, Update, bindparam, cast, func, or_, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.chat.models import Conversation, from_mapping
from widget_server.chat.tables import chat_messages, conversations
from widget_server.db import group_commit
from widget_server.db.group_commit import Prepared

SIDES = ("visitor", "operator")

# Each PostgreSQL move returns its own number, so that in a batch's rows (one round trip for
# several moves) a row is told apart from another move of the same mark.
_moves = itertools.count(1)


@functools.cache
def _move_statement(side: str, any_operator: bool) -> Update:
    """The move, only in a conversation the mover may see: the visitor's own; for operators,
    one of their site's, and unless ``any_operator`` (admins) an unassigned one or theirs."""
    if side not in SIDES:
        raise ValueError(f"no read mark for {side!r}")
    mark = conversations.c[f"{side}_read_seq"]
    seq = bindparam("b_seq", type_=mark.type)
    # What the other side wrote counts as unread: operators read the visitor's messages, the
    # visitor reads replies and system lines (notes are never theirs to read).
    kinds = ("operator", "system") if side == "visitor" else ("visitor",)
    unread = (
        select(func.count())
        .where(
            chat_messages.c.conversation_id == conversations.c.id,
            or_(*(chat_messages.c.kind == kind for kind in kinds)),
            chat_messages.c.seq > seq,
        )
        .scalar_subquery()
    )
    if side == "visitor":
        theirs = conversations.c.visitor_id == bindparam("b_visitor", type_=Integer)
    else:
        theirs = conversations.c.site_id == bindparam("b_site", type_=Integer)
        if not any_operator:
            assignee = conversations.c.assignee_id
            theirs &= or_(assignee.is_(None), assignee == bindparam("b_operator", type_=Integer))
    return (
        update(conversations)
        .where(
            conversations.c.id == bindparam("b_conversation", type_=conversations.c.id.type),
            theirs,
            mark < seq,
            conversations.c.last_seq >= seq,
        )
        .values({mark.key: seq, f"{side}_unread": unread})
        .returning(*conversations.c, cast(bindparam("b_move", type_=String), String).label("move"))
    )


@functools.lru_cache(maxsize=16)
def _prepared(dialect: Dialect, side: str, any_operator: bool) -> Prepared:
    statement = _move_statement(side, any_operator)
    return Prepared(statement, dialect, returns=statement.exported_columns)


async def move_read_mark(
    engine: AsyncEngine,
    conversation_id: int,
    side: str,
    seq: int,
    *,
    visitor_id: int | None = None,
    site_id: int | None = None,
    operator_id: int | None = None,
) -> Conversation | None:
    """Move ``side``'s read mark of the conversation up to ``seq``, committed when this returns:
    the conversation as the move left it, or None when the mark did not move (it was there
    already or further, ``seq`` is past the last message, or the mover may not see it).

    Who moves it: the visitor ``visitor_id``; or an operator of ``site_id``, who may move it in
    an unassigned chat or one assigned to ``operator_id`` (None: in any chat, as admins)."""
    values: dict[str, Any] = {"b_conversation": conversation_id, "b_seq": seq}
    if side == "visitor":
        if visitor_id is None:
            raise ValueError("a visitor's read mark is moved by that visitor")
        values["b_visitor"] = visitor_id
    else:
        if site_id is None:
            raise ValueError("operators move read marks of their site's chats")
        values["b_site"] = site_id
        if operator_id is not None:
            values["b_operator"] = operator_id
    moving = _prepared(engine.dialect, side, side == "operator" and operator_id is None)
    move = values["b_move"] = str(next(_moves))
    args = moving.parameters(values)
    row: Any
    if engine.dialect.name == "postgresql":
        row = await group_commit.fetch_row(
            engine, moving.sql, args, key=(move,), key_columns=(moving.column("move"),)
        )
    else:

        def work(db: sqlite3.Connection) -> Any:
            rows = db.execute(moving.sql, args).fetchall()
            return rows[0] if rows else None

        row = await group_commit.run(engine, work)
    return None if row is None else from_mapping(Conversation, moving.row(row))
