"""What a visitor's message costs the database, the chat's hottest write: a group commit
(``db/group_commit.py``). On PostgreSQL one statement, with the messages sent meanwhile in the
same round trip and implicit transaction; on SQLite an UPDATE and an INSERT in a savepoint of a
transaction shared the same way. bench/chat.py's latency figures rest on this."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, select
from sqlalchemy.util import await_

from tests.chat.conftest import chat_team, new_cid
from tests.chat.test_service import new_visitor
from tests.conftest import SiteTeam
from widget_server.chat import events, receipts, service, store
from widget_server.chat.models import ChatVisitor, Conversation, from_row
from widget_server.chat.tables import conversations
from widget_server.db.metadata import utcnow
from widget_server.errors import Conflict, InvalidRequest, NotFound
from widget_server.runtime import Runtime


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


async def traced(state: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, what reaches the database, in order, as each statement's first two words
    (PostgreSQL: one line per statement asyncpg runs, ``× n`` for n parameter sets in one round
    trip; SQLite: its trace callback, set on each connection the emptied pool opens)."""
    seen: list[str] = []

    def words(sql: str) -> str:
        return " ".join(sql.split()[:2])

    if state.engine.dialect.name == "postgresql":
        one, many, simple = (
            asyncpg.Connection._execute,
            asyncpg.Connection._executemany,
            asyncpg.Connection.execute,
        )

        async def spy_one(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(words(query))
            return await one(self, query, *args, **kwargs)

        async def spy_many(self: Any, query: str, args: Any, *rest: Any, **kwargs: Any) -> Any:
            args = list(args)
            seen.append(f"{words(query)} × {len(args)}")
            return await many(self, query, args, *rest, **kwargs)

        async def spy_simple(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if not args:  # BEGIN, COMMIT … (with arguments it goes through _execute)
                seen.append(words(query))
            return await simple(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, "_execute", spy_one)
        monkeypatch.setattr(asyncpg.Connection, "_executemany", spy_many)
        monkeypatch.setattr(asyncpg.Connection, "execute", spy_simple)
        return seen

    def on_connect(_dbapi_connection: Any, record: Any) -> None:
        trace = record.driver_connection.run(
            lambda db: db.set_trace_callback(lambda sql: seen.append(words(sql)))
        )
        await_(trace)

    event.listen(state.engine.sync_engine, "connect", on_connect)
    await state.engine.dispose()
    return seen


def writes(seen: list[str]) -> list[str]:
    """The trace's writes and transaction control (not the reads around them)."""
    kept = ("WITH", "UPDATE", "INSERT", "BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK")
    return [statement for statement in seen if statement.startswith(kept)]


async def with_conversations(
    state: Runtime, count: int, team: SiteTeam | None = None
) -> list[tuple[ChatVisitor, int]]:
    team = team or await chat_team(state)
    opened = []
    for n in range(count):
        visitor = await new_visitor(state, team, i=f"vis-statements-{n}")
        first = await service.visitor_send(
            state, visitor, conversation_id=None, client_id=new_cid(), text="Hello"
        )
        opened.append((visitor, first.conversation.id))
    return opened


async def test_a_visitor_message_alone_is_one_statement_and_one_commit(
    state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    [(visitor, c)] = await with_conversations(state, 1)
    seen = await traced(state, monkeypatch)
    cid = new_cid()
    sent = await service.visitor_send(
        state, visitor, conversation_id=c, client_id=cid, text="And another thing"
    )
    if state.engine.dialect.name == "postgresql":  # no BEGIN / COMMIT round trips around it
        assert writes(seen) == ["WITH taken"]
    else:
        assert writes(seen) == [
            "BEGIN IMMEDIATE",
            "SAVEPOINT vitrine_work",
            "UPDATE conversations",
            "INSERT INTO",
            "RELEASE vitrine_work",
            "COMMIT",
        ]
    # It did the whole change: the conversation's seq and preview, and the message.
    assert (sent.new, sent.message.seq, sent.conversation.last_seq) == (True, 2, 2)
    async with state.engine.connect() as conn:
        conversation = await store.conversation(conn, c)
        stored = await store.message_by_client_id(conn, c, cid)
    assert conversation is not None and stored is not None
    assert (conversation.last_seq, conversation.last_text) == (2, "And another thing")
    assert stored == sent.message


async def test_messages_sent_together_share_one_round_trip_and_commit(
    state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = await with_conversations(state, 12)
    seen = await traced(state, monkeypatch)
    sent = await asyncio.gather(
        *(
            service.visitor_send(
                state, visitor, conversation_id=c, client_id=new_cid(), text=f"Message {n}"
            )
            for n, (visitor, c) in enumerate(opened)
        )
    )
    if state.engine.dialect.name == "postgresql":
        assert writes(seen) == ["WITH taken × 12"]  # asyncpg's fetchmany: one Sync, one commit
    else:
        one = ["SAVEPOINT vitrine_work", "UPDATE conversations", "INSERT INTO"]
        one.append("RELEASE vitrine_work")
        assert writes(seen) == ["BEGIN IMMEDIATE", *one * 12, "COMMIT"]
    assert [s.message.seq for s in sent] == [2] * 12
    # What each caller got back is what SQLAlchemy reads (dates, JSON params, numbers).
    async with state.engine.connect() as conn:
        for one_sent in sent:
            c, cid = one_sent.conversation.id, one_sent.message.client_id
            query = select(conversations).where(conversations.c.id == c)
            row = (await conn.execute(query)).one()
            assert from_row(Conversation, row) == one_sent.conversation
            assert await store.message_by_client_id(conn, c, cid) == one_sent.message


async def test_a_resend_in_the_same_batch_fails_alone(
    state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tab resending while the first copy is still in flight: one copy is stored, the resend
    is answered with it, and the other messages of the batch are stored all the same."""
    (first, c1), (second, c2) = await with_conversations(state, 2)
    seen = await traced(state, monkeypatch)
    cid = new_cid()
    original, other, resend = await asyncio.gather(
        service.visitor_send(state, first, conversation_id=c1, client_id=cid, text="Twice"),
        service.visitor_send(state, second, conversation_id=c2, client_id=new_cid(), text="Hi"),
        service.visitor_send(state, first, conversation_id=c1, client_id=cid, text="Twice"),
    )
    assert (original.new, other.new, resend.new) == (True, True, False)
    assert resend.message == original.message
    assert (original.message.seq, other.message.seq) == (2, 2)
    if state.engine.dialect.name == "postgresql":  # together, refused, then one by one
        assert writes(seen)[:4] == ["WITH taken × 3", "WITH taken", "WITH taken", "WITH taken"]
    else:
        assert writes(seen).count("ROLLBACK TO") == 1 and writes(seen).count("COMMIT") == 1
    following = await service.visitor_send(
        state, first, conversation_id=c1, client_id=new_cid(), text="Next"
    )
    assert following.message.seq == 3  # the refused copy took no seq


async def test_a_message_into_an_ended_or_foreign_conversation_is_refused(
    state: Runtime,
) -> None:
    (first, c1), (second, _c2) = await with_conversations(state, 2)
    with pytest.raises(NotFound):
        await service.visitor_send(state, second, conversation_id=c1, client_id=new_cid(), text="x")
    async with state.engine.begin() as conn:
        await store.set_status(conn, c1, "resolved", utcnow())
    refused, accepted = await asyncio.gather(
        service.visitor_send(state, first, conversation_id=c1, client_id=new_cid(), text="x"),
        service.visitor_send(state, second, conversation_id=_c2, client_id=new_cid(), text="y"),
        return_exceptions=True,
    )
    assert isinstance(refused, Conflict) and refused.error_code == "closed"
    assert not isinstance(accepted, BaseException) and accepted.message.seq == 2


async def test_a_read_mark_is_one_statement_and_marks_of_the_moment_share_a_commit(
    state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read receipt that follows most messages of a live chat: one UPDATE … RETURNING that
    moves the mark and recounts what is unread, batched with the other marks of the moment. In
    a batch each caller learns whether its own move moved the mark, even for the same mark."""
    team = await chat_team(state)
    operator = team.access("operator")
    opened = await with_conversations(state, 4, team)
    for visitor, c in opened:  # 3 messages from the visitor in each
        for n in range(2):
            await service.visitor_send(
                state, visitor, conversation_id=c, client_id=new_cid(), text=f"More {n}"
            )
    visible = []
    async with state.engine.connect() as conn:
        for _visitor, c in opened:
            found = await store.conversation(conn, c)
            assert found is not None and found.operator_unread == 3
            visible.append(found)
    seen = await traced(state, monkeypatch)
    (first, second, third, fourth) = visible
    moved = await asyncio.gather(
        receipts.operator_read(state, operator, first.id, 2),
        receipts.operator_read(state, operator, second.id, 3),
        receipts.operator_read(state, operator, third.id, 3),
        receipts.operator_read(state, operator, third.id, 3),  # the same mark twice: moves once
        receipts.operator_read(state, operator, fourth.id, 4),  # past the last message: none
        receipts.operator_read(state, operator, first.id, 1),  # behind the other move: none
    )
    assert sorted(moved[2:4]) == [False, True]
    assert [moved[0], moved[1], moved[4], moved[5]] == [True, True, False, False]
    if state.engine.dialect.name == "postgresql":  # asyncpg's fetchmany: one Sync, one commit
        batch = ["UPDATE conversations × 6"]
    else:
        one = ["SAVEPOINT vitrine_work", "UPDATE conversations", "RELEASE vitrine_work"]
        batch = ["BEGIN IMMEDIATE", *one * 6, "COMMIT"]
    # Nothing before it (whether the operator may see each chat is part of the statement), and
    # after it only the reads for the summaries the other side gets, outside any transaction.
    assert writes(seen) == batch
    assert all(statement.startswith("SELECT") for statement in seen if statement not in batch)
    async with state.engine.connect() as conn:
        marks = []
        for conversation in visible:
            found = await store.conversation(conn, conversation.id)
            assert found is not None
            marks.append((found.operator_read_seq, found.operator_unread))
    assert marks == [(2, 1), (3, 0), (3, 0), (0, 3)]


async def test_a_read_mark_tells_the_other_side_with_the_conversation_it_left(
    state: Runtime,
) -> None:
    """The read frame and the conversation's new summary leave as one bus message, and the
    summary is the row the move returned (no read of the conversation afterwards)."""
    team = await chat_team(state)
    [(visitor, c)] = await with_conversations(state, 1, team)
    published: list[dict[str, Any]] = []
    ready = asyncio.Event()

    async def listen() -> None:
        async with state.bus.subscribe(events.CHANNEL) as messages:
            ready.set()
            async for message in messages:
                published.append(message)
                return

    listening = asyncio.create_task(listen())
    await asyncio.wait_for(ready.wait(), 5)
    assert await receipts.operator_read(state, team.access("operator"), c, 1)
    await asyncio.wait_for(listening, 5)
    [message] = published
    read, summary = message["batch"]
    assert read["k"] == "read" and "console_frame" not in read  # for the visitor only
    assert read["visitor_frame"] == {"t": "read", "c": c, "seq": 1}
    assert summary["k"] == "conv" and summary["console_frame"]["conversation"]["unread"] == 0
    assert not await receipts.operator_read(state, team.access("operator"), c, 1)  # there already
    with pytest.raises(InvalidRequest, match="positive whole number"):
        await receipts.visitor_read(state, visitor, c, 0)
