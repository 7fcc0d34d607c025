"""Logging in and out, choosing the console's language, and who may open which page."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from widget_server.accounts import service as accounts
from widget_server.accounts import validation
from widget_server.accounts.models import Access
from widget_server.console.context import (
    checked_form,
    current_user,
    flash,
    log_in,
    log_out,
    redirect,
    render,
    site_access,
)
from widget_server.errors import Forbidden, TooManyRequests, Unauthorized
from widget_server.i18n import _
from widget_server.runtime import runtime

LOGIN_PAGE = "console/login.html"


def local_path(value: str | None) -> str | None:
    """``value`` when it is a path on this server ("/…" but not "//…"), else None.

    Redirect targets taken from a request go through here, so a crafted link can never send a
    user who just logged in to another site.
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return None
    if "\\" in value or any(ch.isspace() or ord(ch) < 32 for ch in value):
        return None  # browsers read "/\evil.example" as "//evil.example"
    return value


def referer_path(request: Request) -> str | None:
    """The path (and query) of the page that sent this request, when it is one of ours."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return None
    return local_path(referer.path + (f"?{referer.query}" if referer.query else ""))


async def admin_access(request: Request) -> Access:
    """Access to the site in the path, for pages only its owner and admins may open.

    The services check the same on every action; this refuses the page before it is drawn.
    """
    access = await site_access(request)
    if not access.is_admin:
        raise Forbidden(_("Only the site's owner or an admin can do this."))
    return access


async def login_page(request: Request) -> Response:
    context = {"email": "", "next": local_path(request.query_params.get("next"))}
    return await render(request, LOGIN_PAGE, context)


async def login(request: Request) -> Response:
    form = await checked_form(request)
    email = str(form.get("email", ""))
    target = local_path(str(form.get("next", "")))
    ip = request.client.host if request.client else "unknown"
    try:
        user = await accounts.authenticate(
            runtime(request).engine, email, str(form.get("password", "")), ip
        )
    except (Unauthorized, TooManyRequests) as exc:
        context = {"email": email, "next": target, "error": exc.message}
        response = await render(request, LOGIN_PAGE, context, status_code=exc.status)
        response.headers.update(exc.headers)
        return response
    log_in(request, user)
    return redirect(target or "/console")


async def logout(request: Request) -> Response:
    await checked_form(request)
    log_out(request)
    flash(request, _("You have logged out."))
    return redirect("/console/login")


async def choose_language(request: Request) -> Response:
    form = await checked_form(request)
    language = validation.clean_language(str(form.get("language", "")))
    request.session["lang"] = language
    user = await current_user(request)
    if user is not None:
        await accounts.set_language(runtime(request).engine, user.id, language)
    return redirect(referer_path(request) or "/console")


routes: list[BaseRoute] = [
    Route("/console/login", login_page, methods=["GET"]),
    Route("/console/login", login, methods=["POST"]),
    Route("/console/logout", logout, methods=["POST"]),
    Route("/console/language", choose_language, methods=["POST"]),
]
