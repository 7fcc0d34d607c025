"""What the chat publishes on the bus (channel ``chat``), always after the change committed.

Each event is tagged with ``site``, the conversation's ``visitor`` and ``assignee`` (the hub
routes by these) and carries the frames already rendered: ``visitor_frame`` for the visitor's
sockets (absent when the visitor must not see it: notes), ``console_frame`` for operators.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.accounts import service as accounts
from widget_server.accounts.models import User
from widget_server.chat import frames, store
from widget_server.chat.models import ChatMessage, ChatVisitor, Conversation
from widget_server.counter import service as counter
from widget_server.settings import Settings

if TYPE_CHECKING:
    from widget_server.runtime import Runtime

CHANNEL = "chat"


# Every message re-renders its conversation's summary, and these two lookups are the same for all
# of them: they are kept per app (``state.chat``). A visit's channel never changes; an operator's
# name and avatar may, and then show within USER_TTL seconds.
USER_TTL = 10.0
_CACHE_SIZE = 10_000


async def user(state: Runtime, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    users = state.chat.users
    cached = users.get(user_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    found = await accounts.get_user(state.engine, user_id)
    if len(users) >= _CACHE_SIZE:
        users.clear()
    users[user_id] = (time.monotonic() + USER_TTL, found)
    return found


async def channel_of(state: Runtime, conversation: Conversation) -> str | None:
    if conversation.visit_number is None:
        return None
    key = (conversation.site_id, conversation.visit_number)
    channels = state.chat.channels
    if key in channels:
        return channels[key]
    found = await counter.visit_source(state.engine, *key)
    if found is None:  # not written yet (the counter's buffer): ask again next time
        return None
    if len(channels) >= _CACHE_SIZE:
        channels.clear()
    channels[key] = found.channel
    return found.channel


async def summaries(
    state: Runtime,
    conversation: Conversation,
    visitor: ChatVisitor | None = None,
    *,
    conn: AsyncConnection | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The conversation's summary as its visitor sees it, and as operators see it (the visitor
    read on ``conn`` when not given)."""
    if visitor is None:
        if conn is None:
            async with state.engine.connect() as own:
                return await summaries(state, conversation, conn=own)
        visitor = await store.visitor_by_id(conn, conversation.visitor_id)
    assert visitor is not None
    for_visitor, for_console = conversation.visitor_unread, conversation.operator_unread
    operator = await user(state, conversation.assignee_id)
    base = state.settings.base_url
    return (
        frames.visitor_summary(
            conversation, unread=for_visitor, operator=operator,
            base_url=base,
        ),
        frames.console_summary(
            conversation,
            unread=for_console,
            operator=operator,
            visitor=visitor,
            channel=await channel_of(state, conversation),
            base_url=base,
        ),
    )  # fmt: skip


def _tags(conversation: Conversation) -> dict[str, Any]:
    return {
        "site": conversation.site_id,
        "visitor": conversation.visitor_id,
        "c": conversation.id,
        "assignee": conversation.assignee_id,
    }


async def publish(state: Runtime, event: dict[str, Any]) -> None:
    await state.bus.publish(CHANNEL, event)


async def publish_all(state: Runtime, batch: list[dict[str, Any]]) -> None:
    """Several events of one change as one bus message (``{"batch": [...]}``): one publish,
    one delivery to each process, and every process sees them together and in this order."""
    if len(batch) == 1:
        await publish(state, batch[0])
    elif batch:
        await state.bus.publish(CHANNEL, {"batch": batch})


def message_event(
    settings: Settings,
    conversation: Conversation,
    message: ChatMessage,
    visitor: ChatVisitor,
    author: User | None,
) -> dict[str, Any]:
    """The ``msg`` event of a stored message (notes: for operators only)."""

    def frame(console: bool) -> dict[str, Any]:
        return frames.message_frame(
            message,
            author=author,
            visitor=visitor,
            base_url=settings.base_url,
            secret_key=settings.secret_key,
            console=console,
            prev=conversation.prev_visible_seq,  # ``conversation`` as this message left it
        )

    event: dict[str, Any] = {"k": "msg", **_tags(conversation), "console_frame": frame(True)}
    if not message.is_note:
        event["visitor_frame"] = frame(False)
    return event


async def conversation_changed(
    state: Runtime,
    conversation_id: int,
    *,
    previous_assignee: int | None = None,
    was_unassigned: bool = False,
    now: Conversation | None = None,
) -> Conversation | None:
    """Publish the conversation's new summary to both sides; returns it as it is now (``now``:
    the conversation as the caller's committed transaction left it, saving a read).

    Operators who could see it before the change also get this frame: every operator when it
    ``was_unassigned`` (it leaves their "new" list), the ``previous_assignee`` on a transfer.
    """
    conversation = now
    if conversation is None:
        async with state.engine.connect() as conn:
            conversation = await store.conversation(conn, conversation_id)
    if conversation is None:
        return None
    summary = await summaries(state, conversation)
    await publish(
        state,
        conversation_event(
            conversation, summary, previous_assignee=previous_assignee,
            was_unassigned=was_unassigned,
        ),
    )  # fmt: skip
    return conversation


def conversation_event(
    conversation: Conversation,
    summary: tuple[dict[str, Any], dict[str, Any]],
    *,
    previous_assignee: int | None = None,
    was_unassigned: bool = False,
) -> dict[str, Any]:
    """The ``conv`` event of a conversation, from its two summaries (see ``summaries``)."""
    mine, theirs = summary
    return {
        "k": "conv",
        **_tags(conversation),
        "previous_assignee": previous_assignee,
        "was_unassigned": was_unassigned,
        "visitor_frame": {"t": "conv", "conversation": mine},
        "console_frame": {"t": "conv", "conversation": theirs},
    }


async def notify_assigned(state: Runtime, conversation: Conversation) -> None:
    _mine, theirs = await summaries(state, conversation)
    frame = {"t": "notify", "kind": "assigned", "conversation": theirs}
    await publish(state, {"k": "notify", "site": conversation.site_id,
                          "user": conversation.assignee_id, "console_frame": frame})  # fmt: skip


def typing_or_read(
    conversation: Conversation, *, side: str, frame: dict[str, Any]
) -> dict[str, Any]:
    """The event of a typing indicator or read mark from one side (``visitor`` or
    ``operator``), for the other side's sockets."""
    key = "console_frame" if side == "visitor" else "visitor_frame"
    return {"k": frame["t"], "from": side, **_tags(conversation), key: frame}


async def presence_changed(state: Runtime, site_id: int, user_id: int, presence: str) -> None:
    frame = {"t": "presence", "operator": user_id, "state": presence}
    await publish(state, {"k": "presence", "site": site_id, "console_frame": frame})
