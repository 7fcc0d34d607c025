"""The multiwidget over HTTP: the visitor's leave-a-message form (``POST /chat/{key}/offline``,
docs/chat-protocol.md) and the console's Multiwidget tab (settings, reply templates, offline
messages)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from widget_server.accounts import service as accounts
from widget_server.console.context import checked_form, flash, redirect, render, site_access
from widget_server.counter import service as counter
from widget_server.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, VitrineError
from widget_server.i18n import _
from widget_server.runtime import runtime
from widget_server.widgets import service, settings_page, templates_page

MAX_BODY = 16 * 1024
OFFLINE_PAGE = "widgets/offline_messages.html"

# --- the visitor's leave-a-message form --------------------------------------------------------


async def _json_body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise PayloadTooLarge()
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(_("The body must be a JSON object.")) from None
    if not isinstance(parsed, dict):
        raise BadRequest(_("The body must be a JSON object."))
    return parsed


async def offline_message(request: Request) -> Response:
    """``POST /chat/KEY/offline``: 201 ``{"status": "received"}``; every answer to an allowed
    origin carries ``Access-Control-Allow-Origin``, so the widget can read errors too."""
    state = runtime(request)
    key = request.path_params["site_key"]
    origin = request.headers.get("origin", "")
    config = await counter.site_config(state, key)
    cors: dict[str, str] = {"Vary": "Origin"}
    if config is not None and config.allows(origin):
        cors["Access-Control-Allow-Origin"] = origin
        cors["Access-Control-Expose-Headers"] = "Retry-After"  # the widget says when to retry
    try:
        if config is None:
            raise NotFound(_("No such site."))
        if "Access-Control-Allow-Origin" not in cors:
            raise Forbidden(_("This origin is not allowed for the site."))
        settings = await service.widget_settings(state.engine, config.site_id)
        site = await accounts.site_by_key(state.engine, key)
        if site is None or not settings.chat_enabled:
            raise NotFound(_("The chat is off on this site."))
        body = await _json_body(request)
        base = state.settings.base_url.rstrip("/")
        await service.leave_offline_message(
            state.engine,
            site,
            body,
            ip=request.client.host if request.client else "",
            console_url=f"{base}/console/sites/{site.key}/widgets/offline",
        )
    except VitrineError as exc:
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers={**exc.headers, **cors})
    return JSONResponse({"status": "received"}, status_code=201, headers=cors)


# --- console: offline messages -----------------------------------------------------------------


async def offline_page(request: Request) -> Response:
    access = await site_access(request)
    engine = runtime(request).engine
    context = {
        "active_tab": "widgets" if access.is_admin else "chats",
        "messages": await service.offline_messages(access, engine),
        "unread": await service.unread_offline_count(access, engine),
    }
    return await render(request, OFFLINE_PAGE, context)


async def mark_read(request: Request) -> Response:
    await checked_form(request)
    access = await site_access(request)
    await service.mark_offline_read(access, runtime(request).engine, request.path_params["id"])
    flash(request, _("Message marked as read."))
    return redirect(f"/console/sites/{access.site.key}/widgets/offline")


_SITE = "/console/sites/{site_key}"
_TEMPLATE = _SITE + "/widgets/templates/{template_id:int}"

routes: list[BaseRoute] = [
    Route("/chat/{site_key}/offline", offline_message, methods=["POST"]),
    Route(_SITE + "/widgets", settings_page.settings_page, methods=["GET"]),
    Route(_SITE + "/widgets", settings_page.save_settings, methods=["POST"]),
    Route(_SITE + "/widgets/identity-secret", settings_page.new_identity_secret, methods=["POST"]),
    Route(_SITE + "/widgets/templates", templates_page.templates_list, methods=["GET"]),
    Route(_SITE + "/widgets/templates", templates_page.add_template, methods=["POST"]),
    Route(_TEMPLATE, templates_page.edit_template_page, methods=["GET"]),
    Route(_TEMPLATE, templates_page.save_template, methods=["POST"]),
    Route(_TEMPLATE + "/delete", templates_page.remove_template, methods=["POST"]),
    Route(_SITE + "/chats/templates.json", templates_page.templates_json, methods=["GET"]),
    Route(_SITE + "/widgets/offline", offline_page, methods=["GET"]),
    Route(_SITE + "/widgets/offline/{id:int}/read", mark_read, methods=["POST"]),
]
api_routes: list[BaseRoute] = []
