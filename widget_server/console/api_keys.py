"""The API keys tab: secret keys for the site's own backend (REST API and SDK)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access
from widget_server.console.auth import admin_access
from widget_server.console.context import checked_form, flash, local_time, redirect, render
from widget_server.errors import InvalidRequest
from widget_server.i18n import _
from widget_server.runtime import runtime

PAGE = "console/api_keys.html"


def _page_url(access: Access) -> str:
    return f"/console/sites/{access.site.key}/api-keys"


async def _render_page(
    request: Request, access: Access, status_code: int = 200, **more: Any
) -> Response:
    keys = await accounts.api_keys(access, runtime(request).engine)
    when = local_time(access)
    context = {"active_tab": "api-keys", "keys": keys, "when": when, "name": "", **more}
    return await render(request, PAGE, context, status_code=status_code)


async def api_keys_page(request: Request) -> Response:
    return await _render_page(request, await admin_access(request))


async def create_api_key(request: Request) -> Response:
    form = await checked_form(request)
    access = await admin_access(request)
    name = str(form.get("name", ""))
    try:
        key, secret = await accounts.create_api_key(access, runtime(request).engine, name)
    except InvalidRequest as exc:
        return await _render_page(request, access, exc.status, name=name, error=exc)
    # The secret exists only in this response: it is never stored, flashed or put in a URL.
    response = await _render_page(request, access, 201, created=key, secret=secret)
    response.headers["Cache-Control"] = "no-store"
    return response


async def revoke_api_key(request: Request) -> Response:
    await checked_form(request)
    access = await admin_access(request)
    await accounts.revoke_api_key(access, runtime(request).engine, request.path_params["key_id"])
    flash(request, _("The key was revoked: requests made with it are now refused."))
    return redirect(_page_url(access))


routes: list[BaseRoute] = [
    Route("/console/sites/{site_key}/api-keys", api_keys_page, methods=["GET"]),
    Route("/console/sites/{site_key}/api-keys", create_api_key, methods=["POST"]),
    Route(
        "/console/sites/{site_key}/api-keys/{key_id:int}/revoke", revoke_api_key, methods=["POST"]
    ),
]
