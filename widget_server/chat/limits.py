"""Rate limits on visitors (docs/chat-protocol.md): at most 5 new conversations per visitor per
hour and 30 per IP address per hour, at most 20 messages per visitor per minute.

They are counted in the database, from the rows themselves, inside the transaction that would
add one more, so they hold across every server process (on SQLite the write lock serialises
those transactions; on PostgreSQL two racing transactions may both pass the last free slot,
which only ever lets one extra through).
"""

from __future__ import annotations

import math
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


async def check_message(conn: AsyncConnection, *, visitor_id: int, now: datetime) -> None:
    count, oldest = await store.visitor_messages_since(conn, visitor_id, now - MESSAGE_WINDOW)
    if count >= MESSAGES_PER_VISITOR:
        raise _refuse(oldest, MESSAGE_WINDOW, now)
