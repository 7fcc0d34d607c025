"""What a visitor's message costs the database, the chat's hottest write: on PostgreSQL one
statement and no BEGIN / COMMIT around it (``store.append_message`` in autocommit); on SQLite two
statements in a group commit shared with the messages sent meanwhile. bench/chat.py's latency
figures rest on this."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.util import await_

from tests.chat.conftest import chat_team, new_cid
from tests.chat.test_service import new_visitor
from widget_server.chat import service, store
from widget_server.chat.models import Conversation, from_row
from widget_server.chat.tables import conversations
from widget_server.runtime import Runtime


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


@contextmanager
def recorded(state: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement, and every BEGIN the driver sends, in order. (SQLAlchemy's own "begin"
    event fires in autocommit too; what matters is what reaches the database.)"""
    seen: list[str] = []
    sync_engine = state.engine.sync_engine

    def on_execute(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split())[:60])

    if state.engine.dialect.name == "postgresql":
        start = AsyncAdapt_asyncpg_connection._start_transaction

        async def spy(self: Any) -> None:
            await start(self)
            if self._transaction is not None:  # asyncpg sent BEGIN (not in autocommit)
                seen.append("BEGIN")

        monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "_start_transaction", spy)
    event.listen(sync_engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(sync_engine, "before_cursor_execute", on_execute)
        monkeypatch.undo()


async def traced_sqlite(state: Runtime) -> list[str]:
    """From now on, every statement SQLite runs for the engine (its trace callback, set on each
    connection the emptied pool opens), the group commit's included."""
    seen: list[str] = []

    def on_connect(_dbapi_connection: Any, record: Any) -> None:
        set_trace = record.driver_connection.run(lambda db: db.set_trace_callback(seen.append))
        await_(set_trace)

    event.listen(state.engine.sync_engine, "connect", on_connect)
    await state.engine.dispose()
    return seen


def transactions(seen: list[str]) -> list[list[str]]:
    """The write transactions in a trace, each as its statements' first two words."""
    found: list[list[str]] = []
    for statement in seen:
        words = statement.split()[:2]
        if words == ["BEGIN", "IMMEDIATE"]:
            found.append([])
        elif found and (not found[-1] or found[-1][-1] != ["COMMIT"]):
            found[-1].append(words)
    return found


async def test_a_visitor_message_is_one_statement_on_postgresql(
    state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = await chat_team(state)
    visitor = await new_visitor(state, team)
    opened = await service.visitor_send(
        state, visitor, conversation_id=None, client_id=new_cid(), text="Hello"
    )
    c = opened.conversation.id
    await service.visitor_send(state, visitor, conversation_id=c, client_id=new_cid(), text="?")

    cid = new_cid()
    with recorded(state, monkeypatch) as seen:
        sent = await service.visitor_send(
            state, visitor, conversation_id=c, client_id=cid, text="And another thing"
        )
    writes = [s for s in seen if s.startswith(("UPDATE", "INSERT", "WITH"))]
    if state.engine.dialect.name == "postgresql":
        assert len(writes) == 1 and writes[0].startswith("WITH taken AS (UPDATE conversations")
        assert "BEGIN" not in seen
    else:
        assert writes == []  # not through SQLAlchemy's statements: see the next test

    # The statement did the whole change: the conversation's seq, preview and the message.
    assert (sent.new, sent.message.seq, sent.conversation.last_seq) == (True, 3, 3)
    async with state.engine.connect() as conn:
        conversation = await store.conversation(conn, c)
        stored = await store.message_by_client_id(conn, c, cid)
    assert conversation is not None and stored is not None
    assert (conversation.last_seq, conversation.last_text) == (3, "And another thing")
    assert (stored.id, stored.seq, stored.text) == (sent.message.id, 3, "And another thing")

    # A resend fails the one statement as a whole: the seq taken by its UPDATE is given back.
    with recorded(state, monkeypatch):
        again = await service.visitor_send(
            state, visitor, conversation_id=c, client_id=cid, text="And another thing"
        )
    assert (again.new, again.message.id) == (False, sent.message.id)
    following = await service.visitor_send(
        state, visitor, conversation_id=c, client_id=new_cid(), text="Last"
    )
    assert following.message.seq == 4


async def test_on_sqlite_messages_sent_together_share_one_commit(state: Runtime) -> None:
    if state.engine.dialect.name != "sqlite":
        pytest.skip("group commit is SQLite's")
    team = await chat_team(state)
    visitors = [await new_visitor(state, team, i=f"vis-group-{n}") for n in range(12)]
    opened = [
        await service.visitor_send(
            state, visitor, conversation_id=None, client_id=new_cid(), text="Hello"
        )
        for visitor in visitors
    ]
    seen = await traced_sqlite(state)
    sent = await asyncio.gather(
        *(
            service.visitor_send(
                state,
                visitor,
                conversation_id=first.conversation.id,
                client_id=new_cid(),
                text=f"Message {n}",
            )
            for n, (visitor, first) in enumerate(zip(visitors, opened, strict=True))
        )
    )
    messages = [t for t in transactions(seen) if ["INSERT", "INTO"] in t]
    assert len(messages) == 1  # all twelve in one BEGIN IMMEDIATE … COMMIT
    one_message = [
        ["SAVEPOINT", "vitrine_work"],
        ["UPDATE", "conversations"],
        ["INSERT", "INTO"],
        ["RELEASE", "vitrine_work"],
    ]
    assert messages[0] == one_message * 12 + [["COMMIT"]]
    assert [s.message.seq for s in sent] == [2] * 12
    # What the write returned is what SQLAlchemy reads back (dates, JSON params, numbers).
    async with state.engine.connect() as conn:
        for one in sent:
            row = (
                await conn.execute(
                    select(conversations).where(conversations.c.id == one.conversation.id)
                )
            ).one()
            assert from_row(Conversation, row) == one.conversation
            c, cid = one.conversation.id, one.message.client_id
            assert await store.message_by_client_id(conn, c, cid) == one.message
