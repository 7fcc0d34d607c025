"""Chat rules: sending (sequence numbers, de-duplication of resends), statuses, taking and
assigning, who sees what. No HTTP, no SQL.

Every message is stored atomically: the conversation's next ``seq`` taken with an
``UPDATE … RETURNING`` and the row inserted, together or not at all (a visitor's message in a
group commit with the others arriving meanwhile, ``db/group_commit.py``; an operator's in the
transaction that also takes the chat). A resend of a client id already stored
(``UNIQUE(conversation, client id)``) returns the stored message with its seq. Events are
published on the bus only once the message is committed (``events.py``).

Other modules of the chat: ``visitors.py`` (tokens, identity, params, the session, ending and
rating), ``receipts.py`` (read marks, typing), ``presence.py`` (operators online,
auto-assignment), ``leads.py``, ``attachments.py``, ``transcripts.py``, ``console.py`` (the
console's lists and detail), ``hub.py`` and the two ``*_socket.py`` (websockets).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.accounts import operators as team
from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access, User
from widget_server.chat import (
    append_store,
    events,
    file_store,
    limits,
    presence,
    store,
)
from widget_server.chat.models import ChatFile, ChatMessage, ChatVisitor, Conversation, Kind
from widget_server.db.metadata import utcnow
from widget_server.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    TooManyRequests,
    VitrineError,
    invalid,
)
from widget_server.i18n import _
from widget_server.widgets import service as widgets

if TYPE_CHECKING:
    from widget_server.runtime import Runtime

MAX_TEXT = 4000
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class Sent:
    message: ChatMessage
    conversation: Conversation
    new: bool  # False: a resend of a stored message; nothing was stored
    event: dict[str, Any] | None = None  # the bus event to publish once committed
    conv_event: dict[str, Any] | None = None  # and the conversation's new summary
    resent_prev: int = 0  # a resend's ``visitor_prev``, looked up

    @property
    def visitor_prev(self) -> int:
        """The seq of the message before this one that the visitor sees (the ack's ``prev``)."""
        return self.conversation.prev_visible_seq if self.new else self.resent_prev


OnStored = Callable[[Sent], None]


# Whose unread count a message of each kind adds to (a note: nobody's).
UNREAD_FOR: dict[str, str] = {"visitor": "operator", "operator": "visitor", "system": "visitor"}


def closed_error() -> Conflict:
    return Conflict(
        _("This conversation has ended. Start a new one to write again."), code="closed"
    )


def not_found() -> NotFound:
    return NotFound(_("No such conversation."))


def clean_message(client_id: object, text: object, file_id: object) -> tuple[str, str, str | None]:
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise invalid("cid", _("A client id is 8 to 64 letters, digits, - or _."))
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise invalid("text", _("The text must be a string."))
    if file_id is not None and not isinstance(file_id, str):
        raise invalid("file", _("Unknown file."), "file")
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise invalid("text", _("A message is at most {count} characters.").format(count=MAX_TEXT))
    if not text and not file_id:
        raise invalid("text", _("Write a message."), "required")
    return client_id, text, file_id


async def _file_of_site(
    conn: AsyncConnection, site_id: int, file_id: str | None
) -> ChatFile | None:
    if file_id is None:
        return None
    found = await file_store.chat_file(conn, site_id, file_id)
    if found is None:
        raise InvalidRequest(_("Unknown file."), code="file")
    return found


async def _stored(conn: AsyncConnection, conversation_id: int, client_id: str) -> Sent | None:
    found = await store.message_by_client_id(conn, conversation_id, client_id)
    if found is None:
        return None
    conversation = await store.conversation(conn, conversation_id)
    assert conversation is not None
    prev = await store.visible_seq_before(conn, conversation_id, found.seq)
    return Sent(found, conversation, new=False, resent_prev=prev)


async def _append(
    conn: AsyncConnection,
    new: append_store.NewMessage,
    file: ChatFile | None,
    state: Runtime,
    author: User | None = None,
    was_unassigned: bool = False,
) -> Sent:
    """Store the message with the next seq in the caller's transaction, and render its bus
    event now, so that it is published right after the commit: one process publishes its
    messages in seq order. The transaction stays as short as it can: on SQLite it holds the
    write lock that every other message waits for."""
    appended = await append_store.append_message(conn, new)
    if appended is None:
        raise await _refusal(conn, new.conversation_id, None)
    visitor = await store.visitor_by_id(conn, appended[0].visitor_id)
    assert visitor is not None
    return await _sent(state, appended, new, file, visitor, author, was_unassigned)


def _new_message(
    conversation_id: int,
    kind: Kind,
    author_id: int | None,
    client_id: str,
    text: str,
    file: ChatFile | None,
    visitor: ChatVisitor | None,
) -> append_store.NewMessage:
    """The message to append (given the ``visitor``: only into a conversation of theirs)."""
    return append_store.NewMessage(
        conversation_id=conversation_id,
        now=utcnow(),
        last_text=(text or "📎") if kind != "note" else None,  # notes have no preview
        reopen_pending=kind == "visitor",
        unread_for=UNREAD_FOR.get(kind),
        visitor_id=visitor.id if visitor else None,
        kind=kind,
        author_id=author_id,
        client_id=client_id,
        text=text,
        file_id=file.file_id if file else None,
    )


async def _refusal(
    conn: AsyncConnection, conversation_id: int, visitor: ChatVisitor | None
) -> VitrineError:
    """Why a message could not be appended: no such conversation (of this visitor), or ended."""
    found = await store.conversation(conn, conversation_id)
    if found is None or (visitor is not None and found.visitor_id != visitor.id):
        return not_found()
    return closed_error()


async def _sent(
    state: Runtime,
    appended: tuple[Conversation, int],
    new: append_store.NewMessage,
    file: ChatFile | None,
    visitor: ChatVisitor,
    author: User | None = None,
    was_unassigned: bool = False,
) -> Sent:
    """A stored message with its bus events rendered."""
    conversation, message_id = appended
    message = ChatMessage(
        id=message_id, conversation_id=conversation.id, seq=conversation.last_seq,
        kind=new.kind, author_id=new.author_id, client_id=new.client_id, text=new.text,
        created_at=new.now, file=file,
    )  # fmt: skip
    event = events.message_event(state.settings, conversation, message, visitor, author)
    summary = await events.summaries(state, conversation, visitor)
    conv_event = events.conversation_event(conversation, summary, was_unassigned=was_unassigned)
    return Sent(message, conversation, new=True, event=event, conv_event=conv_event)


async def _publish(state: Runtime, sent: Sent, on_stored: OnStored | None) -> None:
    """Once committed: the sender's ack first (``on_stored``), then the message, then the
    conversation's new summary."""
    if on_stored is not None:
        on_stored(sent)
    await events.publish_all(
        state, [event for event in (sent.event, sent.conv_event) if event is not None]
    )


# --- visitors --------------------------------------------------------------------------------


async def visitor_send(
    state: Runtime,
    visitor: ChatVisitor,
    *,
    conversation_id: int | None,
    client_id: object,
    text: object,
    file_id: object = None,
    contact: dict[str, str] | None = None,
    ip: str = "",
    on_stored: OnStored | None = None,
) -> Sent:
    """Store a visitor's message (``conversation_id=None`` opens a conversation).

    ``on_stored`` is called with a newly stored message right after the commit, before anyone
    is told about it: a socket queues its ack there, so the ack comes before any reaction."""
    cid, body, file = clean_message(client_id, text, file_id)
    auto = False
    if conversation_id is None:
        sent, auto = await _open(state, visitor, cid, body, file, contact or {}, ip)
    else:
        sent = await _visitor_reply(state, visitor, conversation_id, cid, body, file)
    if sent.new:
        await _publish(state, sent, on_stored)
        if auto:
            await presence.auto_assign(state, sent.conversation)
    return sent


async def _open(
    state: Runtime,
    visitor: ChatVisitor,
    cid: str,
    text: str,
    file_id: str | None,
    contact: dict[str, str],
    ip: str,
) -> tuple[Sent, bool]:
    """The opening message stored (or found again), and whether to auto-assign the chat."""
    settings = await widgets.widget_settings(state.engine, visitor.site_id)
    if not settings.chat_enabled:
        raise NotFound(_("The chat is off on this site."))
    async with state.engine.connect() as conn:
        opened = await store.conversation_by_opening(conn, visitor.site_id, visitor.id, cid)
        if opened is not None:
            found = await _stored(conn, opened.id, cid)
            if found is not None:
                return found, False
    if settings.identity_required and visitor.external_id is None:
        raise Forbidden(_("Please log in on the site to chat with us."), code="identity_required")
    state.chat.message_limiter.take(visitor.id)
    now = utcnow()
    try:
        async with state.engine.begin() as conn:
            file = await _file_of_site(conn, visitor.site_id, file_id)
            await limits.check_new_conversation(
                conn, site_id=visitor.site_id, visitor_id=visitor.id, ip=ip, now=now
            )
            fresh = await store.visitor_by_id(conn, visitor.id) or visitor
            conversation_id = await store.insert_conversation(
                conn,
                site_id=visitor.site_id,
                visitor_id=visitor.id,
                visit_number=fresh.visit_number,
                status="new",
                opening_client_id=cid,
                params=fresh.params,
                page_url=fresh.page_url,
                language=fresh.language,
                ip=ip[:45],
                created_at=now,
                updated_at=now,
            )
            details = {
                k: str(v).strip()[:120]
                for k, v in contact.items()
                if k in ("name", "email", "phone") and v
            }
            if details:
                await store.update_visitor(conn, visitor.id, **details)
            new = _new_message(conversation_id, "visitor", None, cid, text, file, None)
            sent = await _append(conn, new, file, state)
    except IntegrityError:  # the same first message, sent twice at once: the other one won
        async with state.engine.connect() as conn:
            opened = await store.conversation_by_opening(conn, visitor.site_id, visitor.id, cid)
            found = await _stored(conn, opened.id, cid) if opened else None
        if found is None:
            raise
        return found, False
    return sent, settings.auto_assign


async def _visitor_reply(
    state: Runtime,
    visitor: ChatVisitor,
    conversation_id: int,
    cid: str,
    text: str,
    file_id: str | None,
) -> Sent:
    """One write in the common case, in a group commit with the messages arriving meanwhile
    (``append_store.append_message_alone``); a resend of a stored message (the unique client id
    refuses it) is answered with the stored one, also when the conversation has ended since or
    the visitor is at the rate limit."""
    try:
        state.chat.message_limiter.take(visitor.id)
        file = None
        if file_id is not None:
            async with state.engine.connect() as conn:
                file = await _file_of_site(conn, visitor.site_id, file_id)
        new = _new_message(conversation_id, "visitor", None, cid, text, file, visitor)
        appended = await append_store.append_message_alone(state.engine, new)
        if appended is None:
            async with state.engine.connect() as conn:
                raise await _refusal(conn, conversation_id, visitor)
        return await _sent(state, appended, new, file, visitor)
    except (IntegrityError, Conflict, TooManyRequests):
        async with state.engine.connect() as conn:
            found = await _stored(conn, conversation_id, cid)
        if found is None or found.conversation.visitor_id != visitor.id:
            raise
        return found


def conversation_number(conversation_id: object) -> int:
    """A conversation id from a frame or a request: a whole number, else there is no such."""
    if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
        raise not_found()
    return conversation_id


async def visitor_conversation(
    state: Runtime, visitor: ChatVisitor, conversation_id: object
) -> Conversation:
    async with state.engine.connect() as conn:
        conversation = await store.conversation(conn, conversation_number(conversation_id))
    if conversation is None or conversation.visitor_id != visitor.id:
        raise not_found()
    return conversation


# --- operators -------------------------------------------------------------------------------


def can_see(access: Access, conversation: Conversation) -> bool:
    """Admins and owners see every chat; operators the unassigned ones and theirs."""
    if conversation.site_id != access.site.id:
        return False
    return access.is_admin or conversation.assignee_id in (None, access.user.id)


async def visible_conversation(
    state: Runtime, access: Access, conversation_id: object
) -> Conversation:
    async with state.engine.connect() as conn:
        conversation = await store.conversation(conn, conversation_number(conversation_id))
    if conversation is None or not can_see(access, conversation):
        raise not_found()
    return conversation


async def operator_send(
    state: Runtime,
    access: Access,
    conversation_id: object,
    *,
    client_id: object,
    text: object,
    file_id: object = None,
    note: bool = False,
    on_stored: OnStored | None = None,
) -> Sent:
    """A reply (or a private note). Replying to an unassigned chat takes it. ``on_stored``:
    as for ``visitor_send``."""
    cid, body, file = clean_message(client_id, text, file_id)
    conversation = await visible_conversation(state, access, conversation_id)
    async with state.engine.connect() as conn:
        found = await _stored(conn, conversation.id, cid)
    if found is not None:
        return found
    try:
        async with state.engine.begin() as conn:
            stored_file = await _file_of_site(conn, access.site.id, file)
            if not note and conversation.assignee_id is None:
                await store.take(conn, conversation.id, access.user.id, utcnow())
            kind: Kind = "note" if note else "operator"
            new = _new_message(conversation.id, kind, access.user.id, cid, body, stored_file, None)
            was_unassigned = conversation.assignee_id is None
            sent = await _append(conn, new, stored_file, state, access.user, was_unassigned)
    except IntegrityError:
        async with state.engine.connect() as conn:
            found = await _stored(conn, conversation.id, cid)
        if found is None:
            raise
        return found
    await _publish(state, sent, on_stored)
    return sent


async def take(state: Runtime, access: Access, conversation_id: object) -> Conversation:
    """Assign a new chat to oneself; of operators taking it at once, one wins (409 for others)."""
    conversation = await visible_conversation(state, access, conversation_id)
    async with state.engine.begin() as conn:
        taken = await store.take(conn, conversation.id, access.user.id, utcnow())
    if not taken:
        raise Conflict(_("Someone else has already taken this chat."), code="taken")
    changed = await events.conversation_changed(state, conversation.id, was_unassigned=True)
    assert changed is not None
    return changed


async def assign(
    state: Runtime, access: Access, conversation_id: object, to: object
) -> Conversation:
    """Admins assign or transfer a chat to any active member of the site."""
    accounts.require_admin(access)
    conversation = await visible_conversation(state, access, conversation_id)
    if isinstance(to, bool) or not isinstance(to, int):
        raise invalid("to", _("Choose an operator."))
    async with state.engine.begin() as conn:
        members = await team.members_on(conn, access.site.id)
        if not any(m.user.id == to and m.is_active for m in members):
            raise invalid("to", _("This person does not work on this site."), "unknown")
        await store.assign(conn, conversation.id, to, utcnow())
    changed = await events.conversation_changed(
        state,
        conversation.id,
        previous_assignee=conversation.assignee_id,
        was_unassigned=conversation.assignee_id is None,
    )
    assert changed is not None
    if conversation.assignee_id != to:
        await events.notify_assigned(state, changed)
    return changed


async def set_status(
    state: Runtime, access: Access, conversation_id: object, status: object
) -> Conversation:
    conversation = await visible_conversation(state, access, conversation_id)
    if status not in ("open", "pending", "resolved"):
        raise invalid("status", _("The status is open, pending or resolved."))
    async with state.engine.begin() as conn:
        changed = await store.set_status(conn, conversation.id, str(status), utcnow())
    now = await events.conversation_changed(state, conversation.id) if changed else conversation
    assert now is not None
    return now
