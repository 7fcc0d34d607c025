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
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Event = dict[str, Any]


@dataclass(eq=False)
class Listener:
    """One socket's mailbox. ``user`` and ``admin`` are set for console sockets."""

    site_id: int
    visitor_id: int | None = None
    user_id: int | None = None
    admin: bool = False
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

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
        self._listeners: dict[int, set[Listener]] = defaultdict(set)
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

    def add(self, listener: Listener) -> None:
        self._listeners[listener.site_id].add(listener)

    def remove(self, listener: Listener) -> None:
        listeners = self._listeners.get(listener.site_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[listener.site_id]

    def local_users(self, site_id: int) -> set[int]:
        return {
            listener.user_id
            for listener in self._listeners.get(site_id, ())
            if listener.user_id is not None
        }

    def dispatch(self, event: Event) -> None:
        for listener in list(self._listeners.get(event.get("site", -1), ())):
            frame = listener.wants(event)
            if frame is not None:
                listener.queue.put_nowait(frame)
