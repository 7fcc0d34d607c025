"""What the visitor and console sockets share: reading the hello, error frames, the outbox that
drains a listener's queue, and catching up with ``since``."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from widget_server.chat import frames, store
from widget_server.chat.events import user
from widget_server.chat.hub import OVERFLOW, Listener
from widget_server.chat.models import ChatVisitor, Conversation
from widget_server.errors import TooManyRequests, VitrineError
from widget_server.runtime import Runtime

HELLO_TIMEOUT = 15.0
MAX_FRAME = 16 * 1024

# Close codes (4000 + the HTTP status they stand for).
BAD_FRAME = 4400
BAD_TOKEN = 4401
FOREIGN_ORIGIN = 4403
NO_SITE = 4404
TRY_AGAIN_LATER = 1013  # the client stopped reading (see hub.MAX_PENDING)


class Closed(Exception):
    """The socket was closed while waiting for a frame."""


async def receive_frame(websocket: WebSocket, wait: float | None = None) -> dict[str, Any]:
    """The next JSON object from the client (within ``wait`` seconds); ``{}`` for anything that
    is not one."""
    try:
        message = await asyncio.wait_for(websocket.receive(), wait)
    except TimeoutError:
        raise Closed from None
    if message["type"] == "websocket.disconnect":
        raise Closed
    text = message.get("text")
    if text is None or len(text) > MAX_FRAME:
        return {}
    try:
        frame = json.loads(text)
    except ValueError:
        return {}
    return frame if isinstance(frame, dict) else {}


async def close(websocket: WebSocket, code: int) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code)


_CODES = {"invalid_request": "invalid", "bad_request": "invalid", "conflict": "invalid"}


def error_frame(exc: VitrineError, frame: dict[str, Any], *, echo: str) -> dict[str, Any]:
    """``{"t": "error", "code", "message", …}``, echoing the frame's ``cid`` or ``r``."""
    answer: dict[str, Any] = {
        "t": "error",
        "code": _CODES.get(exc.error_code, exc.error_code),
        "message": exc.message,
    }
    if exc.details:
        answer["details"] = exc.details
    if isinstance(exc, TooManyRequests):
        answer["retry_after"] = exc.retry_after
    if echo in frame:
        answer[echo] = frame[echo]
    if "cid" in frame and "cid" not in answer:
        answer["cid"] = frame["cid"]
    return answer


class Outbox:
    """Sends a listener's frames to its socket, in order, dropping messages already sent from
    the backlog (``sent``: (conversation, seq) pairs). A task runs only while frames wait, so
    an idle socket costs no task (bench/chat.py measures memory per idle socket)."""

    def __init__(
        self, websocket: WebSocket, listener: Listener, sent: set[tuple[int, int]]
    ) -> None:
        self.websocket = websocket
        self.listener = listener
        self.sent = sent
        self._task: asyncio.Task[None] | None = None
        listener.wake = self.wake
        self.wake()  # frames queued while the backlog was being sent

    def wake(self) -> None:
        if self._task is None and self.listener.queue:
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        queue, websocket = self.listener.queue, self.websocket
        try:
            while queue:
                frame = queue.popleft()
                if frame is OVERFLOW:
                    await close(websocket, TRY_AGAIN_LATER)
                    return
                if frame.get("t") == "msg" and (frame["c"], frame["seq"]) in self.sent:
                    continue
                try:
                    await websocket.send_json(frame)
                except (WebSocketDisconnect, RuntimeError, OSError):
                    return
        finally:
            self._task = None

    async def close(self) -> None:
        self.listener.wake = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def parse_since(value: object) -> dict[int, int]:
    """``{"7": 12}`` → ``{7: 12}``; anything malformed is left out."""
    since: dict[int, int] = {}
    if not isinstance(value, dict):
        return since
    for key, seq in list(value.items())[:200]:
        if str(key).isdigit() and isinstance(seq, int) and not isinstance(seq, bool):
            since[int(key)] = max(seq, 0)
    return since


async def backlog(
    state: Runtime,
    conversations: Iterable[Conversation],
    since: dict[int, int],
    *,
    console: bool,
) -> list[dict[str, Any]]:
    """The ``msg`` frames of what each conversation in ``since`` has after the given seq."""
    result: list[dict[str, Any]] = []
    base, secret = state.settings.base_url, state.settings.secret_key
    authors: dict[int, Any] = {}
    visitors: dict[int, ChatVisitor] = {}
    for conversation in conversations:
        if conversation.id not in since:
            continue
        async with state.engine.connect() as conn:
            messages = await store.messages_after(
                conn, conversation.id, since[conversation.id], notes=console
            )
            if conversation.visitor_id not in visitors:
                found = await store.visitor_by_id(conn, conversation.visitor_id)
                assert found is not None
                visitors[conversation.visitor_id] = found
        prev = since[conversation.id]  # a visitor's chain: each message names the one before
        for message in messages:
            if message.author_id is not None and message.author_id not in authors:
                authors[message.author_id] = await user(state, message.author_id)
            result.append(
                frames.message_frame(
                    message,
                    author=authors.get(message.author_id) if message.author_id else None,
                    visitor=visitors[conversation.visitor_id],
                    base_url=base,
                    secret_key=secret,
                    console=console,
                    prev=prev,
                )
            )
            prev = message.seq
    return result


def ack(sent: Any, *, console: bool) -> dict[str, Any]:
    """The answer to a ``send``, with ``prev`` as on ``msg`` frames."""
    message = sent.message
    frame = {
        "t": "ack",
        "cid": message.client_id,
        "c": message.conversation_id,
        "seq": message.seq,
        "id": message.id,
        "at": frames.iso(message.created_at),
    }
    frame["prev"] = message.seq - 1 if console else sent.visitor_prev
    return frame
