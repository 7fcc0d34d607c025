"""The console's home, new sites, the Counter code tab and the site's Settings tab."""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from widget_server.accounts import service as accounts
from widget_server.accounts.models import Role, Site, User
from widget_server.console.auth import admin_access
from widget_server.console.context import (
    checked_form,
    flash,
    redirect,
    render,
    require_user,
    site_access,
)
from widget_server.errors import InvalidRequest
from widget_server.i18n import _
from widget_server.runtime import runtime
from widget_server.widgets.snippet import snippet

NEW_SITE_PAGE = "console/new_site.html"
SETTINGS_PAGE = "console/settings.html"


@cache
def time_zones() -> list[str]:
    return sorted(available_timezones())


async def home(request: Request) -> Response:
    """The last site used, else the first one; a user without a site is told so."""
    user = await require_user(request)
    sites = await accounts.sites_for(runtime(request).engine, user)
    if not sites:
        return await render(request, NEW_SITE_PAGE, _new_site_context(user, sites))
    keys = [site.key for site, _role in sites]
    last = request.session.get("site")
    return redirect(f"/console/sites/{last if last in keys else keys[0]}/code")


def _new_site_context(user: User, sites: list[tuple[Site, Role]], **values: Any) -> dict[str, Any]:
    defaults = {"name": "", "time_zone": "UTC", "default_language": user.language or "en"}
    return {
        "values": defaults | values,
        "may_create": accounts.may_create_sites(user, sites),
        "time_zones": time_zones(),
    }


async def new_site_page(request: Request) -> Response:
    user = await require_user(request)
    sites = await accounts.sites_for(runtime(request).engine, user)
    return await render(request, NEW_SITE_PAGE, _new_site_context(user, sites))


async def create_site(request: Request) -> Response:
    form = await checked_form(request)
    user = await require_user(request)
    engine = runtime(request).engine
    values = {
        "name": str(form.get("name", "")),
        "time_zone": str(form.get("time_zone", "")),
        "default_language": str(form.get("default_language", "")),
    }
    try:
        site = await accounts.create_site_as(
            engine,
            user,
            name=values["name"],
            time_zone=values["time_zone"],
            default_language=values["default_language"],
        )
    except InvalidRequest as exc:
        sites = await accounts.sites_for(engine, user)
        context = _new_site_context(user, sites, **values) | {"error": exc}
        return await render(request, NEW_SITE_PAGE, context, status_code=exc.status)
    flash(request, _("The site is ready. Paste this code into every page of it."))
    return redirect(f"/console/sites/{site.key}/code")


async def counter_code(request: Request) -> Response:
    access = await site_access(request)
    code = snippet(runtime(request).settings.base_url, access.site.key)
    return await render(request, "console/code.html", {"active_tab": "code", "snippet": code})


def _settings_context(site: Site, **values: Any) -> dict[str, Any]:
    current = {
        "name": site.name,
        "allowed_origins": "\n".join(site.allowed_origins),
        "time_zone": site.time_zone,
        "default_language": site.default_language,
    }
    return {
        "active_tab": "settings",
        "values": current | values,
        "time_zones": time_zones(),
    }


async def settings_page(request: Request) -> Response:
    access = await admin_access(request)
    return await render(request, SETTINGS_PAGE, _settings_context(access.site))


async def save_settings(request: Request) -> Response:
    form = await checked_form(request)
    access = await admin_access(request)
    values = {
        "name": str(form.get("name", "")),
        "allowed_origins": str(form.get("allowed_origins", "")),
        "time_zone": str(form.get("time_zone", "")),
        "default_language": str(form.get("default_language", "")),
    }
    try:
        await accounts.update_site(
            access,
            runtime(request).engine,
            name=values["name"],
            allowed_origins=values["allowed_origins"].splitlines(),
            time_zone=values["time_zone"],
            default_language=values["default_language"],
        )
    except InvalidRequest as exc:
        context = _settings_context(access.site, **values) | {"error": exc}
        return await render(request, SETTINGS_PAGE, context, status_code=exc.status)
    flash(request, _("Settings saved."))
    return redirect(f"/console/sites/{access.site.key}/settings")


routes: list[BaseRoute] = [
    Route("/console", home, methods=["GET"]),
    Route("/console/sites/new", new_site_page, methods=["GET"]),
    Route("/console/sites", create_site, methods=["POST"]),
    Route("/console/sites/{site_key}/code", counter_code, methods=["GET"]),
    Route("/console/sites/{site_key}/settings", settings_page, methods=["GET"]),
    Route("/console/sites/{site_key}/settings", save_settings, methods=["POST"]),
]
