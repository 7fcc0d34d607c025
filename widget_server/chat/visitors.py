"""Who a chat visitor is: the signed visitor token, identity verification, custom params, the
session the widget opens (``POST /chat/KEY/session``), and ending and rating a conversation.

A token whose visitor was identified (a verified external id) is honoured only together with the
same verified identity: on a shared computer, the next person does not get the previous one's
conversations. A verified identity finds the visitor it was verified for, on any device.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from widget_server.accounts.models import Site
from widget_server.chat import events, service, store
from widget_server.chat.models import ChatVisitor
from widget_server.db.metadata import utcnow
from widget_server.errors import Conflict, InvalidRequest, field_error, invalid
from widget_server.i18n import _
from widget_server.widgets import service as widgets

if TYPE_CHECKING:
    from widget_server.runtime import Runtime

TOKEN_SALT = "chat-visitor"  # noqa: S105 (a salt, not a secret)
# A token is good for this long after it was issued. Every session (each page load that shows the
# chat) issues a fresh one, so a visitor who comes back within the time keeps their chats, and a
# token copied off a device stops opening them after it.
TOKEN_MAX_AGE = 90 * 24 * 3600
MAX_PARAMS = 50
MAX_PARAM_VALUE = 1024
_PARAM_KEY = re.compile(r"^.{1,40}$", re.DOTALL)
_VISITOR_KEY = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


# --- tokens ----------------------------------------------------------------------------------


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)


def visitor_token(secret_key: str, site_id: int, visitor_id: int) -> str:
    return str(_serializer(secret_key).dumps({"s": site_id, "v": visitor_id}))


def token_visitor_id(secret_key: str, site_id: int, token: object) -> int | None:
    """The chat visitor id a token was issued for on this site, or None (also when it is older
    than ``TOKEN_MAX_AGE``)."""
    if not isinstance(token, str) or not token or len(token) > 512:
        return None
    try:
        payload = _serializer(secret_key).loads(token, max_age=TOKEN_MAX_AGE)
    except BadSignature:  # SignatureExpired included
        return None
    if not isinstance(payload, dict) or payload.get("s") != site_id:
        return None
    visitor_id = payload.get("v")
    return visitor_id if isinstance(visitor_id, int) else None


async def fresh(state: Runtime, visitor: ChatVisitor) -> ChatVisitor:
    """The visitor as stored now (after the pre-chat form gave a name, say)."""
    async with state.engine.connect() as conn:
        found = await store.visitor_by_id(conn, visitor.id)
    return found or visitor


async def visitor_of_token(state: Runtime, site_id: int, token: object) -> ChatVisitor | None:
    visitor_id = token_visitor_id(state.settings.secret_key, site_id, token)
    if visitor_id is None:
        return None
    async with state.engine.connect() as conn:
        found = await store.visitor_by_id(conn, visitor_id)
    return found if found is not None and found.site_id == site_id else None


# --- params ----------------------------------------------------------------------------------


def clean_params(value: object, field: str = "params") -> dict[str, Any]:
    """Custom params: at most 50 keys of 1–40 characters, values strings (≤ 1,024 characters),
    numbers or booleans."""
    if not isinstance(value, dict):
        raise invalid(field, _("Params must be an object."))
    details = []
    if len(value) > MAX_PARAMS:
        message = _("At most {count} params.").format(count=MAX_PARAMS)
        details.append(field_error(field, message, "too_many"))
    for key, item in value.items():
        name = f"{field}.{key}"
        if not isinstance(key, str) or not _PARAM_KEY.match(key):
            details.append(field_error(name, _("A param's name is 1 to 40 characters."), "key"))
        elif item is None or not isinstance(item, str | int | float | bool):
            message = _("A param's value is a string, a number or true/false.")
            details.append(field_error(name, message, "type"))
        elif isinstance(item, str) and len(item) > MAX_PARAM_VALUE:
            message = _("At most {count} characters.").format(count=MAX_PARAM_VALUE)
            details.append(field_error(name, message, "length"))
    if details:
        raise InvalidRequest(_("Some params are not valid."), details=details)
    return dict(value)


async def set_params(state: Runtime, visitor: ChatVisitor, params: dict[str, Any]) -> list[int]:
    """Store params on the visitor and on its open conversations; returns those conversations."""
    now = utcnow()
    async with state.engine.begin() as conn:
        await store.update_visitor(conn, visitor.id, params=params, last_seen_at=now)
        return await store.set_params_of_open(conn, visitor.id, params, now)


# --- the session -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    external_id: str
    name: str
    email: str
    phone: str
    hash: str | None


@dataclass(frozen=True)
class SessionRequest:
    visitor_key: str
    visit: int | None
    token: str | None
    languages: list[str]
    url: str
    identity: Identity | None
    params: dict[str, Any] | None


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise invalid(name, _("Must be a string."))
    return str(value).strip()[:limit]


def parse_session(body: object) -> SessionRequest:
    """The session request's body, checked (422 naming the bad field)."""
    if not isinstance(body, dict):
        raise invalid("body", _("The body must be a JSON object."))
    key = body.get("i")
    if not isinstance(key, str) or not _VISITOR_KEY.match(key):
        raise invalid("i", _("The visitor id is missing or malformed."), "required")
    visit = body.get("v")
    if visit is not None and (isinstance(visit, bool) or not isinstance(visit, int)):
        raise invalid("v", _("The visit number must be a number."))
    token = body.get("token")
    if token is not None and not isinstance(token, str):
        raise invalid("token", _("Must be a string."))
    languages = body.get("lang") or []
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise invalid("lang", _("Must be a list of language tags."))
    url = body.get("u") or ""
    if not isinstance(url, str):
        raise invalid("u", _("Must be a string."))
    identity = None
    raw = body.get("identity")
    if raw is not None:
        if not isinstance(raw, dict):
            raise invalid("identity", _("Must be an object."))
        hash_hex = raw.get("hash")
        identity = Identity(
            external_id=_text(raw, "id", 255),
            name=_text(raw, "name", 120),
            email=_text(raw, "email", 254),
            phone=_text(raw, "phone", 40),
            hash=hash_hex if isinstance(hash_hex, str) else None,
        )
    params = clean_params(body["params"]) if body.get("params") is not None else None
    return SessionRequest(
        visitor_key=key,
        visit=visit,
        token=token,
        languages=languages[:10],
        url=url[:2048],
        identity=identity,
        params=params,
    )


async def _new_visitor(state: Runtime, site: Site, request: SessionRequest, now: datetime) -> int:
    async with state.engine.begin() as conn:
        return await store.insert_visitor(
            conn,
            site_id=site.id,
            visitor_key=request.visitor_key,
            external_id=None,
            name="",
            email="",
            phone="",
            verified=False,
            params={},
            page_url="",
            language="en",
            created_at=now,
            last_seen_at=now,
        )


async def _visitor_for(
    state: Runtime, site: Site, request: SessionRequest, verified_id: str | None, now: datetime
) -> int:
    """The chat visitor this session speaks for (made when there is none)."""
    current = await visitor_of_token(state, site.id, request.token)
    if current is not None and current.external_id not in (None, verified_id):
        current = None  # another person's token (see the module docstring)
    if verified_id is None:
        return current.id if current else await _new_visitor(state, site, request, now)
    async with state.engine.connect() as conn:
        known = await store.visitor_by_external_id(conn, site.id, verified_id)
    if known is not None:
        return known.id
    visitor_id = current.id if current else await _new_visitor(state, site, request, now)
    try:
        async with state.engine.begin() as conn:
            await store.update_visitor(conn, visitor_id, external_id=verified_id, verified=True)
    except IntegrityError:  # verified at this very moment by another session of the person
        async with state.engine.connect() as conn:
            known = await store.visitor_by_external_id(conn, site.id, verified_id)
        assert known is not None
        return known.id
    return visitor_id


async def start_session(
    state: Runtime,
    site: Site,
    settings: widgets.WidgetSettings,
    request: SessionRequest,
    language: str,
) -> ChatVisitor:
    """The visitor of this session, with what the session said stored on it."""
    now = utcnow()
    identity = request.identity
    verified_id = None
    if identity is not None and widgets.identity_verified(
        settings, identity.external_id, identity.hash
    ):
        verified_id = identity.external_id
    visitor_id = await _visitor_for(state, site, request, verified_id, now)
    changes: dict[str, Any] = {
        "visitor_key": request.visitor_key,
        "visit_number": request.visit,
        "page_url": request.url,
        "language": language,
        "last_seen_at": now,
    }
    if identity is not None:
        changes.update(
            {k: v for k, v in vars(identity).items() if k in ("name", "email", "phone") and v}
        )
    changed: list[int] = []
    async with state.engine.begin() as conn:
        await store.update_visitor(conn, visitor_id, **changes)
        if request.params is not None:
            await store.update_visitor(conn, visitor_id, params=request.params)
            changed = await store.set_params_of_open(conn, visitor_id, request.params, now)
        visitor = await store.visitor_by_id(conn, visitor_id)
    assert visitor is not None
    for conversation_id in changed:  # operators see the new params at once
        await events.conversation_changed(state, conversation_id)
    return visitor


def can_start(settings: widgets.WidgetSettings, visitor: ChatVisitor) -> bool:
    return not settings.identity_required or visitor.external_id is not None


# --- ending and rating ------------------------------------------------------------------------


async def end_by_visitor(state: Runtime, visitor: ChatVisitor, conversation_id: object) -> None:
    conversation = await service.visitor_conversation(state, visitor, conversation_id)
    async with state.engine.begin() as conn:
        changed = await store.set_status(conn, conversation.id, "resolved", utcnow())
    if changed:
        await events.conversation_changed(state, conversation.id)


async def rate(
    state: Runtime, visitor: ChatVisitor, conversation_id: object, score: object, comment: object
) -> None:
    conversation = await service.visitor_conversation(state, visitor, conversation_id)
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise invalid("score", _("A rating is from 1 to 5."))
    text = comment.strip()[:1000] if isinstance(comment, str) else ""
    async with state.engine.begin() as conn:
        rated = await store.rate(conn, conversation.id, score, text, utcnow())
    if not rated:
        raise Conflict(_("A conversation is rated once it has ended."), code="invalid")
    await events.conversation_changed(state, conversation.id)
