"""The leave-a-message form: what a visitor sends outside working hours (``POST
/chat/KEY/offline``, docs/chat-protocol.md), stored, e-mailed to the site's team through the
outbox in the same transaction, and listed in the console."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.accounts import operators
from widget_server.accounts.models import Access, Site
from widget_server.db.metadata import utcnow
from widget_server.errors import InvalidRequest, NotFound, TooManyRequests, field_error
from widget_server.i18n import _
from widget_server.outbox import service as outbox
from widget_server.widgets import store
from widget_server.widgets.store import OfflineMessage

__all__ = [
    "OfflineMessage",
    "leave_offline_message",
    "mark_offline_read",
    "offline_messages",
    "unread_offline_count",
]

RATE_WINDOW = timedelta(hours=1)
PER_VISITOR = 5
PER_IP = 20
MAX_TEXT = 4000
MAX_PARAMS = 50
MAX_PARAM_VALUE = 1024
MAIL_TEMPLATE = "offline_message"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()./ -]{3,40}$")
_PARAM_KEY = re.compile(r"^.{1,40}$", re.DOTALL)


def _text(body: dict[str, Any], name: str, limit: int, details: list[dict[str, Any]]) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        details.append(field_error(name, _("Must be a string."), "type"))
        return ""
    value = value.strip()
    if len(value) > limit:
        message = _("At most {count} characters.").format(count=limit)
        details.append(field_error(name, message, "length"))
    return value


def _params(value: Any, details: list[dict[str, Any]]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_PARAMS:
        message = _("At most {count} parameters, as an object.").format(count=MAX_PARAMS)
        details.append(field_error("params", message))
        return {}
    for key, item in value.items():
        good_value = isinstance(item, bool | int | float) or (
            isinstance(item, str) and len(item) <= MAX_PARAM_VALUE
        )
        if not _PARAM_KEY.match(key) or not good_value:
            message = _(
                "Parameter names have 1–40 characters; values are strings (at most {count} "
                "characters), numbers or booleans."
            ).format(count=MAX_PARAM_VALUE)
            details.append(field_error(f"params.{key[:40]}", message))
    return dict(value)


def clean_offline(body: dict[str, Any]) -> dict[str, Any]:
    """The columns of an offline message from the request body; 422 naming each bad field."""
    details: list[dict[str, Any]] = []
    visitor = body.get("i")
    if not isinstance(visitor, str) or not 1 <= len(visitor) <= 40:
        details.append(field_error("i", _("The visitor id is missing or too long."), "required"))
    visit = body.get("v")
    if visit is not None and (isinstance(visit, bool) or not isinstance(visit, int)):
        details.append(field_error("v", _("The visit number must be an integer."), "type"))
    name = _text(body, "name", 120, details)
    email = _text(body, "email", 254, details)
    phone = _text(body, "phone", 40, details)
    text = _text(body, "text", MAX_TEXT, details)
    page_url = _text(body, "u", 2048, details)
    if not text and not any(d["field"] == "text" for d in details):
        details.append(field_error("text", _("Write your message."), "required"))
    if email and not _EMAIL.match(email):
        details.append(field_error("email", _("Enter a valid e-mail address."), "format"))
    if phone and not _PHONE.match(phone):
        details.append(field_error("phone", _("Enter a valid phone number."), "format"))
    if not email and not phone:
        message = _("Enter an e-mail address or a phone number.")
        details.append(field_error("email", message, "required"))
    params = _params(body.get("params"), details)
    if details:
        raise InvalidRequest(_("Some fields are not valid."), details=details)
    return {
        "visitor_key": visitor,
        "visit_number": visit,
        "name": name,
        "email": email,
        "phone": phone,
        "text": text,
        "page_url": page_url,
        "params": params,
    }


async def leave_offline_message(
    engine: AsyncEngine, site: Site, body: dict[str, Any], *, ip: str, console_url: str
) -> OfflineMessage:
    """Store the message and queue an e-mail to every active member of the site, at once.

    At most ``PER_VISITOR`` messages per visitor and ``PER_IP`` per address in an hour (429).
    The caller has checked that the site's chat is on.
    """
    values = clean_offline(body)
    now = utcnow()
    async with engine.begin() as conn:
        by_visitor, by_ip, oldest = await store.offline_counts_since(
            conn, site.id, values["visitor_key"], ip, now - RATE_WINDOW
        )
        if by_visitor >= PER_VISITOR or by_ip >= PER_IP:
            wait = (oldest or now) + RATE_WINDOW - now
            raise TooManyRequests(
                _("Too many messages. Try again later."),
                retry_after=max(1, int(wait.total_seconds()) + 1),
            )
        message = await store.insert_offline(
            conn, site_id=site.id, ip=ip[:45], created_at=now, read_at=None, **values
        )
        for member in await operators.members_on(conn, site.id):
            if not member.is_active:
                continue
            await outbox.send_mail(
                conn,
                site_id=site.id,
                to=member.user.email,
                template=MAIL_TEMPLATE,
                context={
                    "site_name": site.name,
                    "visitor_name": message.name,
                    "email": message.email,
                    "phone": message.phone,
                    "text": message.text,
                    "page_url": message.page_url,
                    "console_url": console_url,
                },
                language=member.user.language or site.default_language,
            )
    return message


async def offline_messages(
    access: Access, engine: AsyncEngine, limit: int = 200
) -> list[OfflineMessage]:
    """The site's offline messages, newest first (any member)."""
    async with engine.connect() as conn:
        return await store.offline_of(conn, access.site.id, limit)


async def unread_offline_count(access: Access, engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await store.unread_offline(conn, access.site.id)


async def mark_offline_read(access: Access, engine: AsyncEngine, message_id: int) -> None:
    async with engine.begin() as conn:
        if not await store.mark_offline_read(conn, access.site.id, message_id, utcnow()):
            raise NotFound(_("No such message."))
