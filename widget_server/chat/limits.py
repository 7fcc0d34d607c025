"""Rate limits on visitors (docs/chat-protocol.md): at most 5 new conversations per visitor per
hour and 30 per IP address per hour, at most 20 messages per visitor per minute.

New conversations are counted in the database, from the rows themselves, inside the transaction
that would add one more, so they hold across every server process (on SQLite the write lock
serialises those transactions; on PostgreSQL two racing transactions may both pass the last
free slot, which only ever lets one extra through).

Messages are counted in each process's memory (``MessageLimiter``): a message is the hot path
(a count in the database would lengthen every message's write transaction), and a visitor's
socket talks to one process, so N processes allow a visitor with tabs on N of them N times as
much: a bound against floods, as the counter's hit limit is.
"""

from __future__ import annotations

import math
import time
from collections import deque
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.chat import store
from widget_server.errors import TooManyRequests
from widget_server.i18n import _

CONVERSATIONS_PER_VISITOR = 5
CONVERSATIONS_PER_IP = 30
CONVERSATION_WINDOW = timedelta(hours=1)
MESSAGES_PER_VISITOR = 20
MESSAGE_WINDOW = timedelta(minutes=1)


def _refuse(oldest: datetime | None, window: timedelta, now: datetime) -> TooManyRequests:
    wait = ((oldest or now) + window - now).total_seconds()
    error = TooManyRequests(
        _("You are sending too much. Please wait a little and try again."),
        retry_after=max(1, math.ceil(wait)),
    )
    return error


async def check_new_conversation(
    conn: AsyncConnection, *, site_id: int, visitor_id: int, ip: str, now: datetime
) -> None:
    since = now - CONVERSATION_WINDOW
    count, oldest = await store.conversations_started_since(
        conn, site_id=site_id, visitor_id=visitor_id, ip=None, since=since
    )
    if count >= CONVERSATIONS_PER_VISITOR:
        raise _refuse(oldest, CONVERSATION_WINDOW, now)
    if ip:
        count, oldest = await store.conversations_started_since(
            conn, site_id=site_id, visitor_id=None, ip=ip, since=since
        )
        if count >= CONVERSATIONS_PER_IP:
            raise _refuse(oldest, CONVERSATION_WINDOW, now)


class MessageLimiter:
    """The times of each visitor's last messages in this process (a sliding window)."""

    def __init__(self, max_visitors: int = 50_000) -> None:
        self.max_visitors = max_visitors
        self._sent: dict[int, deque[float]] = {}

    def take(self, visitor_id: int, now: float | None = None) -> None:
        """Count one message of the visitor, or refuse (429 with the seconds to wait)."""
        now = time.monotonic() if now is None else now
        window = MESSAGE_WINDOW.total_seconds()
        sent = self._sent.get(visitor_id)
        if sent is None:
            if len(self._sent) >= self.max_visitors:
                self._forget_idle(now)
            sent = self._sent[visitor_id] = deque(maxlen=MESSAGES_PER_VISITOR)
        while sent and sent[0] <= now - window:
            sent.popleft()
        if len(sent) >= MESSAGES_PER_VISITOR:
            raise TooManyRequests(
                _("You are sending too much. Please wait a little and try again."),
                retry_after=max(1, math.ceil(sent[0] + window - now)),
            )
        sent.append(now)

    def _forget_idle(self, now: float) -> None:
        window = MESSAGE_WINDOW.total_seconds()
        self._sent = {k: v for k, v in self._sent.items() if v and v[-1] > now - window}
