"""``/ws/console``: the operators' socket (docs/chat-protocol.md, "The console socket").

Same-origin only (the ``Origin`` must be ``VITRINE_BASE_URL``'s), authenticated by the console
session cookie. While it is open its operator is present (``online`` or ``away``), refreshed in
the bus every ``REFRESH`` seconds with a ``roster.PRESENCE_TTL`` expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from widget_server import i18n
from widget_server.accounts import operators as team
from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access
from widget_server.chat import events, leads, receipts, service, store
from widget_server.chat import presence as roster
from widget_server.chat.hub import Listener
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
from widget_server.console.context import current_user
from widget_server.errors import InvalidRequest, NotFound, VitrineError
from widget_server.i18n import _
from widget_server.runtime import Runtime, runtime

REFRESH = 20.0


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def console_socket(websocket: WebSocket) -> None:
    state = runtime(websocket)
    await websocket.accept()
    origin = websocket.headers.get("origin", "").rstrip("/").lower()
    if origin != _origin(state.settings.base_url):
        await close(websocket, FOREIGN_ORIGIN)
        return
    user = await current_user(websocket)
    if user is None:
        await close(websocket, BAD_TOKEN)
        return
    try:
        hello = await receive_frame(websocket, HELLO_TIMEOUT)
    except Closed:
        await close(websocket, BAD_FRAME)
        return
    if hello.get("t") != "hello" or not isinstance(hello.get("site"), str):
        await close(websocket, BAD_FRAME)
        return
    try:
        access = await accounts.access_to(state.engine, user, hello["site"])
    except NotFound:
        await close(websocket, NO_SITE)
        return
    listener = Listener(site_id=access.site.id, user_id=user.id, admin=access.is_admin)
    state.chat.add(listener)
    tasks: list[asyncio.Task[None]] = []
    outbox: Outbox | None = None
    presence = ["online"]
    try:
        with i18n.language(user.language or access.site.default_language):
            await roster.set_presence(state, access.site.id, user.id, "online")
            await events.presence_changed(state, access.site.id, user.id, "online")
            sent = await _welcome(state, websocket, access, parse_since(hello.get("since")))
            outbox = Outbox(websocket, listener, sent)
            tasks.append(asyncio.create_task(_refresh(state, access, presence)))
            await _serve(state, websocket, access, listener, presence)
    except Closed:
        pass
    finally:
        state.chat.remove(listener)
        if outbox is not None:
            await outbox.close()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if user.id not in state.chat.local_users(access.site.id):
            await roster.clear_presence(state, access.site.id, user.id)
            await events.presence_changed(state, access.site.id, user.id, "offline")
        await close(websocket, 1000)


async def _refresh(state: Runtime, access: Access, presence: list[str]) -> None:
    while True:
        await asyncio.sleep(REFRESH)
        await roster.set_presence(state, access.site.id, access.user.id, presence[0])


async def operators(state: Runtime, site_id: int) -> list[dict[str, Any]]:
    """The site's active team with their presence: online, away or offline."""
    online = await state.bus.present(roster.online_group(site_id))
    away = await state.bus.present(roster.away_group(site_id))
    async with state.engine.connect() as conn:
        members = await team.members_on(conn, site_id)
    result = []
    for member in members:
        if not member.is_active:
            continue
        key = str(member.user.id)
        presence = "offline" if key not in online else "away" if key in away else "online"
        result.append({"id": member.user.id, "name": member.user.name, "presence": presence})
    return result


async def _welcome(
    state: Runtime, websocket: WebSocket, access: Access, since: dict[int, int]
) -> set[tuple[int, int]]:
    me = {"id": access.user.id, "name": access.user.name, "admin": access.is_admin}
    team_now = await operators(state, access.site.id)
    await websocket.send_json({"t": "welcome", "me": me, "operators": team_now})
    visible = []
    async with state.engine.connect() as conn:
        for conversation_id in since:
            found = await store.conversation(conn, conversation_id)
            if found is not None and service.can_see(access, found):
                visible.append(found)
    missed = await backlog(state, visible, since, console=True)
    for frame in missed:
        await websocket.send_json(frame)
    return {(frame["c"], frame["seq"]) for frame in missed}


async def _serve(
    state: Runtime,
    websocket: WebSocket,
    access: Access,
    listener: Listener,
    presence: list[str],
) -> None:
    while True:
        frame = await receive_frame(websocket)
        try:
            answer = await _handle(state, access, frame, presence, listener)
        except VitrineError as exc:
            answer = error_frame(exc, frame, echo="r")
        if answer is not None and "r" in frame and answer.get("t") != "error":
            answer["r"] = frame["r"]
        if answer is not None:
            listener.put(answer)


def _echo(answer: dict[str, Any], frame: dict[str, Any]) -> dict[str, Any]:
    if "r" in frame:
        answer["r"] = frame["r"]
    return answer


async def _handle(
    state: Runtime,
    access: Access,
    frame: dict[str, Any],
    presence: list[str],
    listener: Listener,
) -> dict[str, Any] | None:
    kind = frame.get("t")
    conversation_id = frame.get("c")
    if kind == "ping":
        return {"t": "pong"}
    if kind == "send":
        sent = await service.operator_send(
            state,
            access,
            conversation_id,
            client_id=frame.get("cid"),
            text=frame.get("text"),
            file_id=frame.get("file"),
            note=frame.get("note") is True,
            on_stored=lambda stored: listener.put(_echo(ack(stored, console=True), frame)),
        )
        return None if sent.new else ack(sent, console=True)
    if kind == "take":
        taken = await service.take(state, access, conversation_id)
        return {"t": "ok", "conversation": (await events.summaries(state, taken))[1]}
    if kind == "assign":
        assigned = await service.assign(state, access, conversation_id, frame.get("to"))
        return {"t": "ok", "conversation": (await events.summaries(state, assigned))[1]}
    if kind == "status":
        changed = await service.set_status(state, access, conversation_id, frame.get("status"))
        return {"t": "ok", "conversation": (await events.summaries(state, changed))[1]}
    if kind in ("typing", "read"):
        if kind == "typing":
            conversation = await service.visible_conversation(state, access, conversation_id)
            await receipts.typing(state, conversation, "operator", frame.get("on"))
        else:
            await receipts.operator_read(state, access, conversation_id, frame.get("seq"))
        return {"t": "ok"} if "r" in frame else None
    if kind == "lead":
        lead = await leads.make_lead(state, access, conversation_id)
        return {"t": "ok", "lead": await leads.lead_json(state, lead)}
    if kind == "presence":
        wanted = frame.get("state")
        if wanted not in ("online", "away"):
            raise InvalidRequest(_("Presence is online or away."), code="invalid")
        presence[0] = str(wanted)
        await roster.set_presence(state, access.site.id, access.user.id, presence[0])
        await events.presence_changed(state, access.site.id, access.user.id, presence[0])
        return {"t": "ok"} if "r" in frame else None
    raise InvalidRequest(_("This frame is not understood."), code="invalid")
