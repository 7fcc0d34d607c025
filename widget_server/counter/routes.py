"""The counter over HTTP: the script (``/s/{key}.js``), server-side events (``/api/v2/events``)
and the console's Counter tab. Hits (``/t/{key}``) are answered by ``ingest.HitEndpoint``, in
front of the app's middleware. The browser's side is specified in docs/counter-protocol.md.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from widget_server.accounts.models import Access
from widget_server.api.auth import api_caller
from widget_server.api.idempotency import idempotent
from widget_server.console.auth import admin_access
from widget_server.console.context import checked_form, flash, redirect, render
from widget_server.counter import hits, service
from widget_server.counter.script import ScriptMissing, etag_matches
from widget_server.counter.store import CounterSettings
from widget_server.errors import (
    InvalidRequest,
)
from widget_server.i18n import _
from widget_server.payments import buy
from widget_server.runtime import runtime
from widget_server.widgets import service as widgets

log = logging.getLogger(__name__)

JAVASCRIPT = "application/javascript; charset=utf-8"
SCRIPT_HEADERS = {"Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}

# --- the script ------------------------------------------------------------------------------


async def counter_script(request: Request) -> Response:
    state = runtime(request)
    site = await service.site_config(state, request.path_params["site_key"], fresh=True)
    if site is None:
        return Response("/* unknown site */", status_code=404, media_type=JAVASCRIPT)
    base_url = state.settings.base_url
    modules = await widgets.counter_modules(state.engine, site.site_id, base_url)
    try:
        config = service.script_config(site, base_url, modules, buy.module_url(base_url))
        compiled = state.counter.scripts.render(config)
    except ScriptMissing as exc:
        log.error("counter script unavailable: %s (run `npm run build` in sdk_js/)", exc)
        unavailable = "/* the counter is not available right now */"
        return Response(unavailable, status_code=503, media_type=JAVASCRIPT)
    headers = {**SCRIPT_HEADERS, "ETag": compiled.etag}
    if etag_matches(request.headers.get("if-none-match", ""), compiled.etag):
        return Response(status_code=304, headers=headers)
    encoding, body = compiled.encoded(request.headers.get("accept-encoding", ""))
    if encoding:
        headers["Content-Encoding"] = encoding
    return Response(body, media_type=JAVASCRIPT, headers=headers)


# --- server-side events ------------------------------------------------------------------------


@idempotent
async def api_track_event(request: Request) -> Response:
    caller = await api_caller(request)
    event = hits.parse_server_event(await request.body())
    await service.track_server_event(runtime(request), caller.site.id, event)
    return JSONResponse({"status": "accepted"}, status_code=202)


# --- console: the Counter tab ------------------------------------------------------------------

SETTINGS_PAGE = "counter/counter_settings.html"
FLAGS = (
    "honour_dnt",
    "require_consent",
    "track_outbound",
    "track_downloads",
    "hash_routing",
    "allow_bots",
)


def _first_origin(access: Access) -> str | None:
    """Where the "exclude my visits" links point: the first allowed origin (a wildcard entry
    becomes its bare domain)."""
    for origin in access.site.allowed_origins:
        return origin.replace("://*.", "://", 1)
    return None


def _values(settings: CounterSettings) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(settings, name) for name in FLAGS}
    values["excluded_ips"] = "\n".join(settings.excluded_ips)
    values["goals"] = "\n".join(settings.goals)
    return values


async def _settings_page(
    request: Request, access: Access, values: dict[str, Any], **context: Any
) -> Response:
    page = {
        "active_tab": "counter",
        "values": values,
        "flags": FLAGS,
        "origin": _first_origin(access),
        "error": None,
        **context,
    }
    status = page["error"].status if page["error"] else 200
    return await render(request, SETTINGS_PAGE, page, status_code=status)


async def settings_page(request: Request) -> Response:
    access = await admin_access(request)
    settings = await service.settings_of(runtime(request).engine, access.site.id)
    return await _settings_page(request, access, _values(settings))


async def save_settings(request: Request) -> Response:
    form = await checked_form(request)
    access = await admin_access(request)
    state = runtime(request)
    values: dict[str, Any] = {name: form.get(name) in ("1", "on") for name in FLAGS}
    values["excluded_ips"] = str(form.get("excluded_ips", ""))
    values["goals"] = str(form.get("goals", ""))
    try:
        await service.update_settings(
            access,
            state.engine,
            **{name: values[name] for name in FLAGS},
            excluded_ips=values["excluded_ips"].splitlines(),
            goals=values["goals"].splitlines(),
        )
    except InvalidRequest as exc:
        return await _settings_page(request, access, values, error=exc)
    state.counter.forget_site(access.site.key)
    flash(request, _("Counter settings saved. Pages pick them up within five minutes."))
    return redirect(f"/console/sites/{access.site.key}/counter")


routes: list[BaseRoute] = [
    Route("/s/{site_key}.js", counter_script, methods=["GET"]),
    Route("/console/sites/{site_key}/counter", settings_page, methods=["GET"]),
    Route("/console/sites/{site_key}/counter", save_settings, methods=["POST"]),
]

api_routes: list[BaseRoute] = [
    Route("/api/v2/events", api_track_event, methods=["POST"]),
]
