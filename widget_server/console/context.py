"""What every console page needs: the logged-in user, their site, CSRF-checked forms, flashes."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from starlette.datastructures import FormData
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response

from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access, User
from widget_server.errors import CsrfFailed, Unauthorized
from widget_server.i18n import current_language
from widget_server.runtime import runtime
from widget_server.templating import templates

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def log_in(request: Request, user: User) -> None:
    """Start a fresh session for the user (a new CSRF token too: no fixation)."""
    language = request.session.get("lang")
    request.session.clear()
    request.session.update(
        {"uid": user.id, "epoch": user.session_epoch, "csrf": secrets.token_urlsafe(32)}
    )
    if user.language:
        request.session["lang"] = user.language
    elif language:
        request.session["lang"] = language


def log_out(request: Request) -> None:
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language


async def current_user(request: HTTPConnection) -> User | None:
    """The console user of the session cookie (pages and the console socket alike)."""
    cached = getattr(request.state, "user", None)
    if isinstance(cached, User):
        return cached
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        return None
    user = await accounts.get_user(runtime(request).engine, user_id)
    if user is None or user.session_epoch != request.session.get("epoch"):
        request.session.clear()
        return None
    request.state.user = user
    return user


async def require_user(request: Request) -> User:
    """The logged-in user; pages without one redirect to the log-in form (see errorpages)."""
    user = await current_user(request)
    if user is None:
        raise Unauthorized("Log in to continue.")
    return user


async def site_access(request: Request) -> Access:
    """The user's access to the site named by the ``site_key`` path parameter."""
    user = await require_user(request)
    site_key = request.path_params["site_key"]
    access = await accounts.access_to(runtime(request).engine, user, site_key)
    request.session["site"] = access.site.key
    request.state.access = access
    return access


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, after checking its CSRF token (form field or X-CSRF-Token header).

    Every console POST handler reads its form through this; a missing or wrong token is 403.
    """
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str):
        raise CsrfFailed()
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfFailed()
    return form


def flash(request: Request, message: str, kind: str = "success") -> None:
    request.session.setdefault("flashes", []).append({"kind": kind, "message": message})


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """Render a console page with the layout's needs: user, their sites, access, CSRF, flashes."""
    user = await current_user(request)
    sites = await accounts.sites_for(runtime(request).engine, user) if user else []
    page: dict[str, Any] = {
        "user": user,
        "sites": sites,
        "may_create_sites": user is not None and accounts.may_create_sites(user, sites),
        "access": getattr(request.state, "access", None),
        "csrf_token": csrf_token(request),
        "flashes": request.session.pop("flashes", []),
        "settings": runtime(request).settings,
    }
    page.update(context or {})
    return templates.TemplateResponse(request, template, page, status_code=status_code)


def local_time(access: Access) -> Callable[[datetime | None], str]:
    """Formats times in the site's time zone and the reader's language, for the pages."""
    zone = ZoneInfo(access.site.time_zone)

    def when(moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_datetime(moment, "medium", tzinfo=zone, locale=current_language.get())

    return when
