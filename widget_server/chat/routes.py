"""The chat over HTTP and WebSocket (docs/chat-protocol.md): the visitor's session, files and
transcript (CORS like the hit endpoint), signed file links, the two sockets, the console's JSON
and the REST API's leads and conversations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from widget_server.accounts import service as accounts
from widget_server.accounts.models import Site
from widget_server.api.auth import api_caller
from widget_server.chat import attachments, console, events, frames, leads, store, visitors
from widget_server.chat.console_socket import console_socket
from widget_server.chat.models import ChatFile
from widget_server.chat.transcripts import send_transcript
from widget_server.chat.visitor_socket import visitor_socket
from widget_server.console.context import checked_form, site_access
from widget_server.counter import service as counter
from widget_server.counter.state import SiteConfig
from widget_server.db.metadata import utcnow
from widget_server.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    VitrineError,
    invalid,
)
from widget_server.i18n import _
from widget_server.runtime import runtime
from widget_server.widgets import service as widgets

MAX_JSON_BODY = 64 * 1024
STATIC_DIST = Path(__file__).resolve().parent.parent / "static" / "dist"

# --- the visitor's HTTP ----------------------------------------------------------------------


def _cors(request: Request, site: SiteConfig | None) -> dict[str, str]:
    origin = request.headers.get("origin", "")
    if site is not None and site.allows(origin):
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": "Retry-After",  # the widget says when to retry
            "Vary": "Origin",
        }
    return {}


@dataclass(frozen=True)
class VisitorSite:
    site: Site
    config: SiteConfig
    settings: widgets.WidgetSettings
    cors: dict[str, str]


async def _visitor_site(request: Request) -> VisitorSite:
    """The site of the path, its chat on, called from one of its origins (else 404 / 403)."""
    state = runtime(request)
    config = await counter.site_config(state, request.path_params["site_key"])
    cors = _cors(request, config)
    request.state.chat_cors = cors
    site = await accounts.site_by_key(state.engine, config.key) if config else None
    if config is None or site is None:
        raise NotFound(_("Unknown site."))
    if not cors:
        raise Forbidden(_("This origin is not one of the site's allowed origins."))
    settings = await widgets.widget_settings(state.engine, site.id)
    if not settings.chat_enabled:
        raise NotFound(_("The chat is off on this site."))
    return VisitorSite(site, config, settings, cors)


async def _json_body(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_JSON_BODY:
        raise PayloadTooLarge(_("The body is too large."))
    try:
        return json.loads(body or b"null")
    except ValueError:
        raise invalid("body", _("The body must be JSON.")) from None


def _error(request: Request, exc: VitrineError) -> JSONResponse:
    """The one error shape, readable by the site's page (CORS) when its origin is allowed."""
    headers = {**exc.headers, **getattr(request.state, "chat_cors", {})}
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)


def panel_url(base_url: str) -> str:
    """``BASE/static/dist/chat-panel.js?v=HASH``, versioned like the chat module itself."""
    return widgets.chat_module_url(base_url, STATIC_DIST / "chat-panel.js")


async def session(request: Request) -> Response:
    state = runtime(request)
    try:
        found = await _visitor_site(request)
        wanted = visitors.parse_session(await _json_body(request))
        widget = widgets.public_widget(
            found.settings,
            languages=wanted.languages,
            time_zone=found.site.time_zone,
            now=utcnow(),
        )
        visitor = await visitors.start_session(
            state, found.site, found.settings, wanted, widget["language"]
        )
    except VitrineError as exc:
        return _error(request, exc)
    async with state.engine.connect() as conn:
        mine = await store.conversations_of_visitor(conn, visitor.id)
    summaries = [(await events.summaries(state, c, visitor))[0] for c in mine]
    base = state.settings.base_url.rstrip("/")
    can_start = visitors.can_start(found.settings, visitor)
    answer = {
        "token": visitors.visitor_token(state.settings.secret_key, found.site.id, visitor.id),
        "ws": "ws" + base.removeprefix("http") + "/ws/visitor",
        "panel": panel_url(base),
        "visitor": {
            "name": visitor.name,
            "email": visitor.email,
            "phone": visitor.phone,
            "verified": visitor.external_id is not None,
        },
        "can_start": can_start,
        "reason": None if can_start else "identity_required",
        "widget": widget,
        "conversations": summaries,
    }
    return JSONResponse(answer, headers=found.cors)


async def _read_upload(form: FormData) -> tuple[str, bytes]:
    """The uploaded file's name and bytes (at most one byte past the limit); closes the form."""
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid("file", _("Choose a file to send."), "required")
        return upload.filename or "", await upload.read(attachments.MAX_BYTES + 1)
    finally:
        await form.close()


async def visitor_file(request: Request) -> Response:
    state = runtime(request)
    try:
        found = await _visitor_site(request)
        form = await request.form(max_files=1, max_fields=10)
        token = form.get("token")
        filename, data = await _read_upload(form)
        visitor = await visitors.visitor_of_token(state, found.site.id, token)
        if visitor is None:
            raise Unauthorized(_("The visitor token is missing or not valid."))
        saved = await attachments.save_attachment(
            state, site_id=found.site.id, filename=filename, data=data,
            visitor_id=visitor.id,
        )  # fmt: skip
    except VitrineError as exc:
        return _error(request, exc)
    return JSONResponse({"file": _file_json(request, saved)}, headers=found.cors)


def _file_json(request: Request, saved: ChatFile) -> dict[str, Any]:
    settings = runtime(request).settings
    return frames.file_json(settings.base_url, settings.secret_key, saved)


async def transcript(request: Request) -> Response:
    state = runtime(request)
    try:
        found = await _visitor_site(request)
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise invalid("body", _("The body must be a JSON object."))
        visitor = await visitors.visitor_of_token(state, found.site.id, body.get("token"))
        if visitor is None:
            raise Unauthorized(_("The visitor token is missing or not valid."))
        await send_transcript(state, visitor, body.get("c"), body.get("email"))
    except VitrineError as exc:
        return _error(request, exc)
    return JSONResponse({"status": "queued"}, status_code=202, headers=found.cors)


async def get_file(request: Request) -> Response:
    stored = await attachments.signed_file(
        runtime(request), request.path_params["file_id"], request.query_params.get("s", "")
    )
    inline = stored.content_type.startswith("image/")
    disposition = "inline" if inline else "attachment"
    headers = {
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=86400",
    }
    return Response(stored.data, media_type=stored.content_type, headers=headers)


# --- the console's JSON ----------------------------------------------------------------------


async def chats_json(request: Request) -> Response:
    access = await site_access(request)
    tab = request.query_params.get("tab", "new")
    found = await console.conversation_list(runtime(request), access, tab)
    return JSONResponse(found)


async def chat_json(request: Request) -> Response:
    access = await site_access(request)
    detail = await console.conversation_detail(
        runtime(request), access, request.path_params["conversation_id"]
    )
    return JSONResponse(detail)


async def console_file(request: Request) -> Response:
    try:
        form = await checked_form(request)
        access = await site_access(request)
    except VitrineError:
        await (await request.form()).close()  # the parsed form (cached): its spooled file
        raise
    filename, data = await _read_upload(form)
    saved = await attachments.save_attachment(
        runtime(request), site_id=access.site.id, filename=filename, data=data,
        user_id=access.user.id,
    )  # fmt: skip
    return JSONResponse({"file": _file_json(request, saved)})


# --- the REST API ----------------------------------------------------------------------------


async def api_leads(request: Request) -> Response:
    caller = await api_caller(request)
    raw = request.query_params.get("limit", str(leads.MAX_LIST))
    if not raw.isdigit() or not 1 <= int(raw) <= leads.MAX_LIST:
        raise invalid("limit", f"limit is a whole number from 1 to {leads.MAX_LIST}.")
    state = runtime(request)
    found = await leads.list_leads(state, caller.site.id, int(raw))
    return JSONResponse({"data": [await leads.lead_json(state, lead) for lead in found]})


async def api_lead(request: Request) -> Response:
    caller = await api_caller(request)
    state = runtime(request)
    found = await leads.get_lead(state, caller.site.id, request.path_params["lead_id"])
    return JSONResponse(await leads.lead_json(state, found))


async def api_conversation(request: Request) -> Response:
    caller = await api_caller(request)
    data = await console.conversation_for_api(
        runtime(request), caller.site.id, request.path_params["conversation_id"]
    )
    return JSONResponse(data)


routes: list[BaseRoute] = [
    Route("/chat/{site_key}/session", session, methods=["POST"]),
    Route("/chat/{site_key}/files", visitor_file, methods=["POST"]),
    Route("/chat/{site_key}/transcript", transcript, methods=["POST"]),
    Route("/chat/files/{file_id}", get_file, methods=["GET"]),
    WebSocketRoute("/ws/visitor", visitor_socket),
    WebSocketRoute("/ws/console", console_socket),
    Route("/console/sites/{site_key}/chats.json", chats_json, methods=["GET"]),
    Route("/console/sites/{site_key}/chats/{conversation_id:int}.json", chat_json, methods=["GET"]),
    Route("/console/sites/{site_key}/chats/files", console_file, methods=["POST"]),
]

api_routes: list[BaseRoute] = [
    Route("/api/v2/leads", api_leads, methods=["GET"]),
    Route("/api/v2/leads/{lead_id:int}", api_lead, methods=["GET"]),
    Route("/api/v2/conversations/{conversation_id:int}", api_conversation, methods=["GET"]),
]
