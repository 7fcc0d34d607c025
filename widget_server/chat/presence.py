"""Operators' presence (kept in the bus with a TTL, so it spans processes and expires when a
process dies) and round-robin auto-assignment of new chats among the operators online."""

from __future__ import annotations

from typing import TYPE_CHECKING

from widget_server.accounts import operators as team
from widget_server.chat import events, store
from widget_server.chat.models import Conversation
from widget_server.db.metadata import utcnow

if TYPE_CHECKING:
    from widget_server.runtime import Runtime

PRESENCE_TTL = 60.0


def online_group(site_id: int) -> str:
    return f"chat-online:{site_id}"


def away_group(site_id: int) -> str:
    return f"chat-away:{site_id}"


async def online_operators(state: Runtime, site_id: int) -> set[int]:
    online = await state.bus.present(online_group(site_id))
    away = await state.bus.present(away_group(site_id))
    return {int(member) for member in online - away if member.isdigit()}


async def set_presence(state: Runtime, site_id: int, user_id: int, presence: str) -> None:
    member = str(user_id)
    await state.bus.set_presence(online_group(site_id), member, PRESENCE_TTL)
    if presence == "away":
        await state.bus.set_presence(away_group(site_id), member, PRESENCE_TTL)
    else:
        await state.bus.clear_presence(away_group(site_id), member)


async def clear_presence(state: Runtime, site_id: int, user_id: int) -> None:
    await state.bus.clear_presence(online_group(site_id), str(user_id))
    await state.bus.clear_presence(away_group(site_id), str(user_id))


async def auto_assign(state: Runtime, conversation: Conversation) -> Conversation | None:
    """Round-robin: give a new chat to the online operator whose last assignment is oldest."""
    online = await online_operators(state, conversation.site_id)
    if not online:
        return None
    async with state.engine.connect() as conn:
        members = await team.members_on(conn, conversation.site_id)
        candidates = sorted(m.user.id for m in members if m.is_active and m.user.id in online)
        last = await store.last_assigned(conn, conversation.site_id, candidates)
    for user_id in sorted(candidates, key=lambda uid: (uid in last, last.get(uid), uid)):
        async with state.engine.begin() as conn:
            taken = await store.take(conn, conversation.id, user_id, utcnow())
        if taken:
            changed = await events.conversation_changed(state, conversation.id, was_unassigned=True)
            if changed is not None:
                await events.notify_assigned(state, changed)
            return changed
        break  # someone took it meanwhile
    return None
