"""The websocket hub of one process: one bus subscription (channel ``chat``) handing events to the
sockets open in this process, so N sockets cost one subscription and processes behind a load
balancer need no sticky sessions.

A socket registers a ``Listener`` before it reads what it missed from the database, so an
event published meanwhile waits in the listener's queue instead of falling between the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from widget_server.accounts.models import User
from widget_server.chat.limits import MessageLimiter

log = logging.getLogger(__name__)

Event = dict[str, Any]

# Frames a socket may have waiting before it counts as stuck (a client that stopped reading):
# it is then closed with 1013 "try again later", and the client comes back with `since`.
MAX_PENDING = 1000
OVERFLOW: dict[str, Any] = {"t": "overflow"}


@dataclass(eq=False)
class Listener:
    """One socket's mailbox. ``user`` and ``admin`` are set for console sockets."""

    site_id: int
    visitor_id: int | None = None
    user_id: int | None = None
    admin: bool = False
    # Frames waiting for the socket's outbox (a plain deque: an asyncio.Queue costs about 2 KiB
    # more per socket, and the outbox is woken through ``wake`` instead).
    queue: deque[dict[str, Any]] = field(default_factory=deque)
    stuck: bool = False
    wake: Callable[[], None] | None = None  # the socket's outbox: there are frames to send

    def put(self, frame: dict[str, Any]) -> None:
        """Queue a frame, unless the socket has stopped reading: then its waiting frames are
        dropped for ``OVERFLOW`` alone, nothing more is queued, and its outbox closes it when
        it gets there (the client reconnects with ``since``)."""
        if self.stuck:
            return
        if len(self.queue) >= MAX_PENDING:
            self.stuck = True
            self.queue.clear()
            frame = OVERFLOW
        self.queue.append(frame)
        if self.wake is not None:
            self.wake()

    def wants(self, event: Event) -> dict[str, Any] | None:
        """The frame this socket should get for the event, or None."""
        if self.visitor_id is not None:
            if event.get("visitor") != self.visitor_id:
                return None
            return _frame(event, "visitor_frame")
        frame = _frame(event, "console_frame")
        if frame is None:
            return None
        kind = event.get("k")
        if kind == "notify":
            return frame if event.get("user") == self.user_id else None
        if kind == "presence" or self.admin:
            return frame
        mine = (None, self.user_id)
        if event.get("assignee") in mine:
            return frame
        if kind == "conv" and (
            event.get("was_unassigned") or event.get("previous_assignee") == self.user_id
        ):
            return frame  # the chat left this operator's view: they learn it is gone

        return None


def _frame(event: Event, key: str) -> dict[str, Any] | None:
    frame = event.get(key)
    return frame if isinstance(frame, dict) else None


class ChatHub:
    def __init__(self) -> None:
        self._listeners: dict[tuple[int, int | None], set[Listener]] = defaultdict(set)
        # Lookups every message's summary repeats (``events.user``, ``events.channel_of``).
        self.users: dict[int, tuple[float, User | None]] = {}
        self.channels: dict[tuple[int, int], str | None] = {}
        self.message_limiter = MessageLimiter()  # visitors' messages in this process
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self, bus: Any) -> None:
        """Subscribe (and keep subscribing after a bus failure); returns once subscribed, or
        after 15 s with a warning (the app serves the rest while the bus comes back)."""
        if self._task is None:
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._run(bus))
        try:
            await asyncio.wait_for(self._ready.wait(), 15)
        except TimeoutError:
            log.warning("chat hub: not subscribed to the bus yet; live chat frames wait for it")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, bus: Any) -> None:
        delay = 0.5
        while True:
            try:
                async with bus.subscribe("chat") as events:
                    self._ready.set()
                    delay = 0.5
                    async for event in events:
                        self.dispatch(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the bus went away: sockets catch up with `since`
                log.warning("chat hub: bus subscription failed (%s); retrying", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    @staticmethod
    def _key(listener: Listener) -> tuple[int, int | None]:
        """Console sockets by site; visitor sockets by site and visitor, so an event reaches
        the visitor's own sockets without looking at every other visitor's."""
        return (listener.site_id, listener.visitor_id)

    def add(self, listener: Listener) -> None:
        self._listeners[self._key(listener)].add(listener)

    def remove(self, listener: Listener) -> None:
        key = self._key(listener)
        listeners = self._listeners.get(key)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[key]

    def local_users(self, site_id: int) -> set[int]:
        return {
            listener.user_id
            for listener in self._listeners.get((site_id, None), ())
            if listener.user_id is not None
        }

    def dispatch(self, event: Event) -> None:
        batch = event.get("batch")
        if isinstance(batch, list):  # ``events.publish_all``
            for one in batch:
                if isinstance(one, dict):
                    self.dispatch(one)
            return
        site = event.get("site", -1)
        keys = [(site, None)]
        if event.get("visitor") is not None:
            keys.append((site, event["visitor"]))
        for key in keys:
            for listener in list(self._listeners.get(key, ())):
                frame = listener.wants(event)
                if frame is not None:
                    listener.put(frame)
