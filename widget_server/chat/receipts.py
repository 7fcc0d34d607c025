"""What each side of a chat tells the other about its messages: read marks (read receipts,
and the unread counts they reset) and the typing indicator. Rules only; the read mark's
statement is ``read_store.py``."""

from __future__ import annotations

from widget_server.accounts.models import Access
from widget_server.chat import events, read_store, service
from widget_server.chat.models import ChatVisitor, Conversation
from widget_server.errors import invalid
from widget_server.i18n import _
from widget_server.runtime import Runtime


async def visitor_read(
    state: Runtime, visitor: ChatVisitor, conversation_id: object, seq: object
) -> bool:
    """The visitor has read their conversation up to ``seq``: move the mark forward and tell
    the operators (read receipts). False when it was there already; 404 when not theirs."""
    c, up_to = _read_mark(conversation_id, seq)
    now = await read_store.move_read_mark(state.engine, c, "visitor", up_to, visitor_id=visitor.id)
    if now is None:
        await service.visitor_conversation(state, visitor, c)  # not theirs: 404
        return False
    await _tell_read(state, now, "visitor", up_to, visitor)
    return True


async def operator_read(
    state: Runtime, access: Access, conversation_id: object, seq: object
) -> bool:
    """``visitor_read`` for the operators' side, in a chat ``access`` may see."""
    c, up_to = _read_mark(conversation_id, seq)
    now = await read_store.move_read_mark(
        state.engine,
        c,
        "operator",
        up_to,
        site_id=access.site.id,
        operator_id=None if access.is_admin else access.user.id,
    )
    if now is None:
        await service.visible_conversation(state, access, c)  # not one they may see: 404
        return False
    await _tell_read(state, now, "operator", up_to, None)
    return True


def _read_mark(conversation_id: object, seq: object) -> tuple[int, int]:
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise invalid("seq", _("A sequence number is a positive whole number."))
    return service.conversation_number(conversation_id), seq


async def _tell_read(
    state: Runtime, now: Conversation, side: str, seq: int, visitor: ChatVisitor | None
) -> None:
    """The read frame for the other side and the conversation's new summary, in one publish."""
    frame = {"t": "read", "c": now.id, "seq": seq}
    summary = await events.summaries(state, now, visitor)
    await events.publish_all(
        state,
        [
            events.typing_or_read(now, side=side, frame=frame),
            events.conversation_event(now, summary),
        ],
    )


async def typing(state: Runtime, conversation: Conversation, side: str, on: object) -> None:
    frame = {"t": "typing", "c": conversation.id, "on": bool(on)}
    await events.publish(state, events.typing_or_read(conversation, side=side, frame=frame))
