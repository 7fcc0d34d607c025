"""``/ws/visitor``: the visitor widget's socket (docs/chat-protocol.md, "The visitor socket")."""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket

from widget_server import i18n
from widget_server.chat import events, receipts, service, store, visitors
from widget_server.chat import presence as roster
from widget_server.chat.hub import Listener
from widget_server.chat.models import ChatVisitor
from widget_server.chat.sockets import (
    BAD_FRAME,
    BAD_TOKEN,
    FOREIGN_ORIGIN,
    HELLO_TIMEOUT,
    NO_SITE,
    Closed,
    Outbox,
    ack,
    backlog,
    close,
    error_frame,
    parse_since,
    receive_frame,
)
from widget_server.counter import service as counter
from widget_server.errors import InvalidRequest, VitrineError
from widget_server.i18n import _
from widget_server.runtime import Runtime, runtime
from widget_server.widgets import service as widgets


async def visitor_socket(websocket: WebSocket) -> None:
    state = runtime(websocket)
    await websocket.accept()
    try:
        hello = await receive_frame(websocket, HELLO_TIMEOUT)
    except Closed:
        await close(websocket, BAD_FRAME)
        return
    if hello.get("t") != "hello" or not isinstance(hello.get("site"), str):
        await close(websocket, BAD_FRAME)
        return
    site = await counter.site_config(state, hello["site"])
    if site is None:
        await close(websocket, NO_SITE)
        return
    if not site.allows(websocket.headers.get("origin", "")):
        await close(websocket, FOREIGN_ORIGIN)
        return
    settings = await widgets.widget_settings(state.engine, site.site_id)
    visitor = await visitors.visitor_of_token(state, site.site_id, hello.get("token"))
    if not settings.chat_enabled:
        await close(websocket, NO_SITE)
        return
    if visitor is None:
        await close(websocket, BAD_TOKEN)
        return
    listener = Listener(site_id=site.site_id, visitor_id=visitor.id)
    state.chat.add(listener)  # before reading the backlog: nothing falls in between
    outbox: Outbox | None = None
    try:
        with i18n.language(visitor.language):
            sent = await _welcome(state, websocket, visitor, parse_since(hello.get("since")))
            outbox = Outbox(websocket, listener, sent)
            await _serve(state, websocket, visitor, listener, websocket.client)
    except Closed:
        pass
    finally:
        state.chat.remove(listener)
        if outbox is not None:
            await outbox.close()
        await close(websocket, 1000)


async def _welcome(
    state: Runtime, websocket: WebSocket, visitor: ChatVisitor, since: dict[int, int]
) -> set[tuple[int, int]]:
    async with state.engine.connect() as conn:
        mine = await store.conversations_of_visitor(conn, visitor.id)
    summaries = [(await events.summaries(state, c, visitor))[0] for c in mine]
    online = await roster.online_operators(state, visitor.site_id)
    await websocket.send_json(
        {"t": "welcome", "conversations": summaries, "operators_online": len(online)}
    )
    missed = await backlog(state, mine, since, console=False)
    for frame in missed:
        await websocket.send_json(frame)
    return {(frame["c"], frame["seq"]) for frame in missed}


async def _serve(
    state: Runtime, websocket: WebSocket, visitor: ChatVisitor, listener: Listener, client: Any
) -> None:
    ip = client.host if client else ""
    while True:
        frame = await receive_frame(websocket)
        try:
            answer = await _handle(state, visitor, frame, ip, listener)
        except VitrineError as exc:
            answer = error_frame(exc, frame, echo="cid")
        if answer is not None:
            listener.put(answer)
        if frame.get("t") == "send" and frame.get("c") is None:
            # A new conversation may have brought the pre-chat form's name and contacts:
            # the messages that follow carry them (``service._append`` takes this visitor).
            visitor = await visitors.fresh(state, visitor)


async def _handle(
    state: Runtime, visitor: ChatVisitor, frame: dict[str, Any], ip: str, listener: Listener
) -> dict[str, Any] | None:
    kind = frame.get("t")
    if kind == "ping":
        return {"t": "pong"}
    if kind == "send":
        contact = frame.get("contact")
        sent = await service.visitor_send(
            state,
            visitor,
            conversation_id=_conversation_id(frame),
            client_id=frame.get("cid"),
            text=frame.get("text"),
            file_id=frame.get("file"),
            contact=contact if isinstance(contact, dict) else None,
            ip=ip,
            on_stored=lambda stored: listener.put(ack(stored, console=False)),
        )
        return None if sent.new else ack(sent, console=False)
    if kind == "typing":
        conversation = await service.visitor_conversation(state, visitor, frame.get("c"))
        await receipts.typing(state, conversation, "visitor", frame.get("on"))
        return None
    if kind == "read":
        await receipts.visitor_read(state, visitor, frame.get("c"), frame.get("seq"))
        return None
    if kind == "params":
        params = visitors.clean_params(frame.get("params"))
        for conversation_id in await visitors.set_params(state, visitor, params):
            await events.conversation_changed(state, conversation_id)
        return None
    if kind == "end":
        await visitors.end_by_visitor(state, visitor, frame.get("c"))
        return None
    if kind == "rate":
        await visitors.rate(
            state, visitor, frame.get("c"), frame.get("score"), frame.get("comment")
        )
        return None
    raise InvalidRequest(_("This frame is not understood."), code="invalid")


def _conversation_id(frame: dict[str, Any]) -> int | None:
    value = frame.get("c")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(_("No such conversation."), code="not_found")
    return value
