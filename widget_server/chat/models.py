"""The records the chat store returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal, TypeVar

Status = Literal["new", "open", "pending", "resolved"]
STATUSES: tuple[Status, ...] = ("new", "open", "pending", "resolved")
Kind = Literal["visitor", "operator", "note", "system"]
VISIBLE_TO_VISITOR: tuple[Kind, ...] = ("visitor", "operator", "system")

T = TypeVar("T")


def from_row(cls: type[T], row: Any) -> T:
    """A dataclass from a result row (its columns may be more than the class's fields)."""
    return from_mapping(cls, row._mapping)


def from_mapping(cls: type[T], mapping: Mapping[str, Any]) -> T:
    """A dataclass from {column: value} (which may have more keys than the class's fields)."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: mapping[name] for name in names})


@dataclass(frozen=True)
class ChatVisitor:
    id: int
    site_id: int
    visitor_key: str
    external_id: str | None
    name: str
    email: str
    phone: str
    verified: bool
    params: dict[str, Any]
    visit_number: int | None
    page_url: str
    language: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class Conversation:
    id: int
    site_id: int
    visitor_id: int
    visit_number: int | None
    status: Status
    assignee_id: int | None
    assigned_at: datetime | None
    last_seq: int
    last_visible_seq: int  # the visitor's last message (not a note)
    prev_visible_seq: int  # the visitor's message before that one
    visitor_read_seq: int
    operator_read_seq: int
    visitor_unread: int
    operator_unread: int
    params: dict[str, Any]
    page_url: str
    language: str
    rating: int | None
    rating_comment: str | None
    last_text: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class ChatFile:
    file_id: str
    site_id: int
    name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ChatMessage:
    id: int
    conversation_id: int
    seq: int
    kind: Kind
    author_id: int | None
    client_id: str
    text: str
    created_at: datetime
    file: ChatFile | None = None

    @property
    def is_note(self) -> bool:
        return self.kind == "note"


@dataclass(frozen=True)
class Lead:
    id: int
    site_id: int
    conversation_id: int
    contact: dict[str, str]
    manager_id: int | None
    transcript: list[dict[str, Any]]
    source: dict[str, Any] | None
    params: dict[str, Any]
    created_at: datetime
