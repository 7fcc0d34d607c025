"""What a visitor's message costs the database, the chat's hottest write: on PostgreSQL one
statement and no BEGIN / COMMIT around it (``store.append_message`` in autocommit); on SQLite two
statements in one write transaction. bench/chat.py's two-process latency rests on this."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

from tests.chat.conftest import chat_team, new_cid
from tests.chat.test_service import new_visitor
from widget_server.chat import service, store
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
        assert [w.split()[0:2] for w in writes] == [["UPDATE", "conversations"], ["INSERT", "INTO"]]
        assert seen[0].startswith("BEGIN IMMEDIATE")  # engine.py's write transaction

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
