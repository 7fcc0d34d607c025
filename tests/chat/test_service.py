"""Chat rules through the service, on SQLite and (when configured) PostgreSQL: sequence numbers,
resends, taking and assigning, who sees what, notes, leads and their webhook, limits."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.chat.conftest import chat_team, new_cid
from tests.conftest import SiteTeam
from widget_server.bus import Message
from widget_server.chat import console, leads, receipts, service, store, visitors
from widget_server.chat.models import ChatVisitor
from widget_server.errors import Conflict, Forbidden, InvalidRequest, NotFound, TooManyRequests
from widget_server.outbox import service as outbox
from widget_server.runtime import Runtime


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


@pytest.fixture
async def chat(state: Runtime) -> SiteTeam:
    return await chat_team(state)


async def new_visitor(state: Runtime, team: SiteTeam, **body: Any) -> ChatVisitor:
    settings = await service.widgets.widget_settings(state.engine, team.site.id)
    request = visitors.parse_session({"i": "vis-1", **body})
    return await visitors.start_session(state, team.site, settings, request, "en")


async def test_sequence_numbers_grow_by_one_and_resends_return_the_stored_message(
    state: Runtime, chat: SiteTeam
) -> None:
    visitor = await new_visitor(state, chat)
    first = await service.visitor_send(
        state, visitor, conversation_id=None, client_id="opening-1", text="Hello"
    )
    assert (first.new, first.message.seq, first.conversation.status) == (True, 1, "new")
    again = await service.visitor_send(
        state, visitor, conversation_id=None, client_id="opening-1", text="Hello"
    )
    assert (again.new, again.message.id, again.conversation.id) == (
        False,
        first.message.id,
        first.conversation.id,
    )
    c = first.conversation.id
    second = await service.visitor_send(
        state, visitor, conversation_id=c, client_id="msg-0002", text="?"
    )
    resent = await service.visitor_send(
        state, visitor, conversation_id=c, client_id="msg-0002", text="?"
    )
    assert second.message.seq == 2 and resent.message.seq == 2 and not resent.new
    reply = await service.operator_send(
        state, chat.access("operator"), c, client_id="op-00001", text="Hi"
    )
    assert reply.message.seq == 3
    # Many senders at once still get distinct, gap-free numbers.
    sent = await asyncio.gather(
        *(
            service.visitor_send(
                state, visitor, conversation_id=c, client_id=f"burst-{n:04d}", text=str(n)
            )
            for n in range(8)
        )
    )
    assert sorted(s.message.seq for s in sent) == list(range(4, 12))
    async with state.engine.connect() as conn:
        stored = await store.messages_after(conn, c, 0, notes=True)
        conversation = await store.conversation(conn, c)
    assert [m.seq for m in stored] == list(range(1, 12))
    assert conversation is not None and conversation.last_seq == 11


async def test_two_operators_taking_at_once_one_wins(state: Runtime, chat: SiteTeam) -> None:
    visitor = await new_visitor(state, chat)
    opened = await service.visitor_send(
        state, visitor, conversation_id=None, client_id=new_cid(), text="Hi"
    )
    results = await asyncio.gather(
        service.take(state, chat.access("operator"), opened.conversation.id),
        service.take(state, chat.access("admin"), opened.conversation.id),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], Conflict) and losers[0].error_code == "taken"
    assert winners[0].status == "open"
    assert winners[0].assignee_id in (chat.operator.id, chat.admin.id)


async def test_operators_see_new_chats_and_theirs_admins_see_all(
    state: Runtime, chat: SiteTeam
) -> None:
    visitor = await new_visitor(state, chat)
    opened = await service.visitor_send(
        state, visitor, conversation_id=None, client_id=new_cid(), text="Hi"
    )
    c = opened.conversation.id
    operator, admin = chat.access("operator"), chat.access("admin")
    assert [s["id"] for s in await console.conversation_list(state, operator, "new")] == [c]
    await service.take(state, admin, c)
    assert await console.conversation_list(state, operator, "new") == []
    with pytest.raises(NotFound):
        await service.visible_conversation(state, operator, c)
    with pytest.raises(NotFound):
        await service.operator_send(state, operator, c, client_id=new_cid(), text="sneaky")
    with pytest.raises(Forbidden):
        await console.conversation_list(state, operator, "all")
    assert [s["id"] for s in await console.conversation_list(state, admin, "all")] == [c]
    # An admin transfers it: now the operator sees it, and it is theirs.
    with pytest.raises(Forbidden):
        await service.assign(state, operator, c, chat.operator.id)
    await service.assign(state, admin, c, chat.operator.id)
    mine = await console.conversation_list(state, operator, "mine")
    assert [s["id"] for s in mine] == [c]
    assert mine[0]["assignee"] == {"id": chat.operator.id, "name": "Oscar Operator"}
    await service.set_status(state, operator, c, "resolved")
    assert [s["id"] for s in await console.conversation_list(state, operator, "closed")] == [c]
    with pytest.raises(Conflict):
        await service.visitor_send(state, visitor, conversation_id=c, client_id=new_cid(), text="x")


async def test_notes_never_reach_the_visitor(state: Runtime, chat: SiteTeam) -> None:
    visitor = await new_visitor(state, chat)
    published: list[Message] = []
    ready = asyncio.Event()

    async def listen() -> None:
        async with state.bus.subscribe("chat") as events:
            ready.set()
            async for event in events:
                published.extend(event.get("batch", [event]))  # events.publish_all

    listening = asyncio.create_task(listen())
    await ready.wait()
    opened = await service.visitor_send(
        state, visitor, conversation_id=None, client_id=new_cid(), text="Hi"
    )
    c = opened.conversation.id
    note = await service.operator_send(
        state, chat.access("operator"), c, client_id=new_cid(), text="SECRET NOTE", note=True
    )
    await asyncio.sleep(0.05)
    listening.cancel()
    assert note.message.kind == "note"
    visitor_frames = json.dumps([e.get("visitor_frame") for e in published])
    console_frames = json.dumps([e.get("console_frame") for e in published])
    assert "SECRET NOTE" in console_frames
    assert "SECRET NOTE" not in visitor_frames
    async with state.engine.connect() as conn:
        seen = await store.messages_after(conn, c, 0, notes=False)
        conversation = await store.conversation(conn, c)
    assert [m.text for m in seen] == ["Hi"]
    assert conversation is not None and conversation.last_text == "Hi"


async def test_a_lead_has_no_notes_and_queues_a_signed_webhook(
    state: Runtime, chat: SiteTeam
) -> None:
    endpoint = await outbox.create_endpoint(
        chat.access(),
        state.engine,
        url="https://crm.example.com/hooks",
        event_types=["lead.created"],
    )
    visitor = await new_visitor(
        state, chat, identity={"name": "Ann", "email": "ann@example.com"}, params={"plan": "pro"}
    )
    opened = await service.visitor_send(
        state, visitor, conversation_id=None, client_id=new_cid(), text="Price?"
    )
    c = opened.conversation.id
    operator = chat.access("operator")
    await service.operator_send(state, operator, c, client_id=new_cid(), text="100 EUR")
    await service.operator_send(
        state, operator, c, client_id=new_cid(), text="rich client", note=True
    )

    lead = await leads.make_lead(state, operator, c)
    assert [m["text"] for m in lead.transcript] == ["Price?", "100 EUR"]
    assert lead.contact == {"name": "Ann", "email": "ann@example.com", "phone": ""}
    assert lead.manager_id == chat.operator.id  # the assignee (replying took the chat)
    assert lead.params == {"plan": "pro"}
    again = await leads.make_lead(state, chat.access("admin"), c)
    assert again.id == lead.id

    page = await outbox.list_messages(
        chat.access(), state.engine, kind="webhook", state=None, page=1
    )
    (queued,) = page.messages  # once, however often the lead is asked for
    assert queued.topic == "lead.created" and queued.endpoint_id == endpoint.id
    body = json.loads(queued.payload["body"])
    assert body["type"] == "lead.created" and body["site"] == chat.site.key
    assert body["data"]["id"] == lead.id
    assert "rich client" not in queued.payload["body"]


async def test_limits_on_new_conversations_and_messages(state: Runtime, chat: SiteTeam) -> None:
    visitor = await new_visitor(state, chat)
    for n in range(5):
        await service.visitor_send(
            state,
            visitor,
            conversation_id=None,
            client_id=f"open-{n:04d}",
            text="hi",
            ip="198.51.100.1",
        )
    with pytest.raises(TooManyRequests) as refused:
        await service.visitor_send(
            state, visitor, conversation_id=None, client_id="open-0005", text="hi"
        )
    assert 3500 <= refused.value.retry_after <= 3600


async def test_params_and_message_checks() -> None:
    assert visitors.clean_params({"plan": "pro", "seats": 3, "trial": False}) == {
        "plan": "pro",
        "seats": 3,
        "trial": False,
    }
    for bad in (
        {"": "x"},
        {"k" * 41: 1},
        {"x": None},
        {"x": [1]},
        {"x": "y" * 1025},
        {str(n): n for n in range(51)},
        [],
    ):
        with pytest.raises(InvalidRequest):
            visitors.clean_params(bad)
    for cid, text in (
        ("short", "x"),
        ("good-cid-1", ""),
        ("good-cid-1", "x" * 4001),
        ("bad cid!!", "x"),
    ):
        with pytest.raises(InvalidRequest):
            service.clean_message(cid, text, None)


async def test_unread_counts_follow_messages_and_read_marks(state: Runtime, chat: SiteTeam) -> None:
    """Each side's unread count is kept with every message and read mark (notes count for
    nobody), and the summaries both sides get carry it."""
    visitor = await new_visitor(state, chat)
    operator = chat.access("operator")
    opened = await service.visitor_send(
        state, visitor, conversation_id=None, client_id="open-0001", text="one"
    )
    c = opened.conversation.id
    for n in (2, 3):
        await service.visitor_send(
            state, visitor, conversation_id=c, client_id=f"more-{n:04d}", text=str(n)
        )

    async def unread() -> tuple[int, int]:
        async with state.engine.connect() as conn:
            found = await store.conversation(conn, c)
        assert found is not None
        mine, theirs = await service.events.summaries(state, found)
        assert (mine["unread"], theirs["unread"]) == (found.visitor_unread, found.operator_unread)
        return found.visitor_unread, found.operator_unread

    assert await unread() == (0, 3)
    assert await receipts.operator_read(state, operator, c, 2)
    assert await unread() == (0, 1)
    await service.operator_send(state, operator, c, client_id="note-0001", text="hm", note=True)
    assert await unread() == (0, 1)  # a note is nobody's to read
    reply = await service.operator_send(state, operator, c, client_id="reply-001", text="yes")
    assert await unread() == (1, 1)
    await service.visitor_send(state, visitor, conversation_id=c, client_id="more-0004", text="4")
    assert await unread() == (1, 2)
    assert await receipts.visitor_read(state, visitor, c, reply.message.seq)
    assert await receipts.operator_read(state, operator, c, reply.message.seq + 1)
    assert await unread() == (0, 0)


async def test_a_read_mark_moves_only_where_its_mover_may_see_the_chat(
    state: Runtime, chat: SiteTeam
) -> None:
    """The visitor in their own conversations; an operator in the site's unassigned chats and
    theirs; admins in any of the site's. Elsewhere the answer is 404 and nothing moves."""
    visitor = await new_visitor(state, chat)
    stranger = await new_visitor(state, chat, i="vis-2")
    other_site = await chat_team(state, "other-")
    opened = await service.visitor_send(
        state, visitor, conversation_id=None, client_id="open-0001", text="one"
    )
    c = opened.conversation.id
    reply = await service.operator_send(
        state, chat.access("admin"), c, client_id="reply-001", text="yes"
    )  # the admin answered: the chat is the admin's now
    operator, admin = chat.access("operator"), chat.access("admin")
    with pytest.raises(NotFound):
        await receipts.visitor_read(state, stranger, c, reply.message.seq)
    for outsider in (operator, other_site.access("owner")):
        with pytest.raises(NotFound):
            await receipts.operator_read(state, outsider, c, 1)
    for missing in (10**9, "1", True):
        with pytest.raises(NotFound):
            await receipts.operator_read(state, admin, missing, 1)
    async with state.engine.connect() as conn:
        untouched = await store.conversation(conn, c)
    assert untouched is not None
    assert (untouched.visitor_read_seq, untouched.operator_read_seq) == (0, 0)
    assert await receipts.visitor_read(state, visitor, c, reply.message.seq)
    assert await receipts.operator_read(state, admin, c, 1)
    assert not await receipts.operator_read(state, admin, c, 1)  # there already: no error
