"""The JSON the chat sends (docs/chat-protocol.md): message frames, conversation summaries,
file links. Pure functions of records: no database, no bus."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from widget_server.accounts.models import User
from widget_server.chat.models import ChatFile, ChatMessage, ChatVisitor, Conversation


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def file_signature(secret_key: str, file_id: str) -> str:
    digest = hmac.new(secret_key.encode(), b"chat-file:" + file_id.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def file_url(base_url: str, secret_key: str, file_id: str) -> str:
    return f"{base_url.rstrip('/')}/chat/files/{file_id}?s={file_signature(secret_key, file_id)}"


def file_json(base_url: str, secret_key: str, file: ChatFile) -> dict[str, Any]:
    return {
        "id": file.file_id,
        "name": file.name,
        "type": file.content_type,
        "size": file.size,
        "url": file_url(base_url, secret_key, file.file_id),
    }


def avatar_url(base_url: str, user: User | None) -> str | None:
    if user is None or not user.avatar_file_id:
        return None
    return f"{base_url.rstrip('/')}/files/{user.avatar_file_id}"


def operator_json(base_url: str, user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"name": user.name, "avatar": avatar_url(base_url, user)}


def message_frame(
    message: ChatMessage,
    *,
    author: User | None,
    visitor: ChatVisitor,
    base_url: str,
    secret_key: str,
    console: bool,
    prev: int | None = None,
) -> dict[str, Any]:
    """A ``msg`` frame; ``console`` adds ``note`` (and ``author.id``), as operators see it.

    ``prev`` is the seq of the message before this one on that side: operators see every
    message, so it is ``seq - 1``; a visitor does not see notes, so the caller says it (from
    ``Conversation.prev_visible_seq``, or the message before it in a backlog)."""
    if message.kind == "visitor":
        who: dict[str, Any] = {"name": visitor.name, "avatar": None}
    elif message.kind == "system":
        who = {"name": "", "avatar": None}
    else:
        who = {"name": author.name if author else "", "avatar": avatar_url(base_url, author)}
        if console:
            who["id"] = message.author_id
    frame: dict[str, Any] = {
        "t": "msg",
        "c": message.conversation_id,
        "seq": message.seq,
        "id": message.id,
        "cid": message.client_id,
        "from": message.kind,
        "author": who,
        "text": message.text,
        "file": file_json(base_url, secret_key, message.file) if message.file else None,
        "at": iso(message.created_at),
    }
    if console:
        frame["note"] = message.is_note
        frame["prev"] = message.seq - 1
    elif prev is not None:
        frame["prev"] = prev
    return frame


def visitor_summary(
    conversation: Conversation, *, unread: int, operator: User | None, base_url: str
) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "status": conversation.status,
        "last_seq": conversation.last_seq,
        "unread": unread,
        "operator": operator_json(base_url, operator),
        "last_text": conversation.last_text,
        "updated_at": iso(conversation.updated_at),
        "rating": conversation.rating,
    }


def console_summary(
    conversation: Conversation,
    *,
    unread: int,
    operator: User | None,
    visitor: ChatVisitor,
    channel: str | None,
    base_url: str,
) -> dict[str, Any]:
    summary = visitor_summary(conversation, unread=unread, operator=operator, base_url=base_url)
    summary.update(
        visitor={"name": visitor.name, "email": visitor.email, "phone": visitor.phone},
        assignee={"id": operator.id, "name": operator.name} if operator else None,
        params=conversation.params,
        channel=channel,
        visit=conversation.visit_number,
        created_at=iso(conversation.created_at),
        rating_comment=conversation.rating_comment,
        page_url=conversation.page_url,
    )
    return summary
