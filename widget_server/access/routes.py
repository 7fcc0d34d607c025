"""Customer pages: the e-mailed access link, the first password, /account, asking for a link."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from widget_server.access import service
from widget_server.access.store import Customer
from widget_server.accounts import service as accounts
from widget_server.console.context import checked_form, csrf_token
from widget_server.errors import Conflict, InvalidRequest, NotFound
from widget_server.i18n import _
from widget_server.payments.money import format_amount
from widget_server.runtime import runtime
from widget_server.templating import templates

PAGE = "access/page.html"
SESSION_KEY = "customer"


def _render(
    request: Request, page: str, title: str, status_code: int = 200, **extra: Any
) -> Response:
    context = {
        "page": page,
        "title": title,
        "csrf": csrf_token(request),
        "money": format_amount,
        **extra,
    }
    return templates.TemplateResponse(request, PAGE, context, status_code=status_code)


def _log_in(request: Request, customer: Customer) -> None:
    """The customer's own session key, beside (never replacing) a console session."""
    request.session[SESSION_KEY] = {"id": customer.id, "epoch": customer.session_epoch}
    csrf_token(request)


async def current_customer(request: Request) -> Customer | None:
    """The customer logged in on this browser (their session key), or None."""
    held = request.session.get(SESSION_KEY)
    if not isinstance(held, dict) or not isinstance(held.get("id"), int):
        return None
    customer = await service.customer(runtime(request).engine, held["id"])
    if customer is None or customer.session_epoch != held.get("epoch"):
        request.session.pop(SESSION_KEY, None)
        return None
    return customer


def _ask_for_link(request: Request, message: str, status_code: int, site_key: str = "") -> Response:
    return _render(
        request, "link", _("Get a new access link"), status_code, message=message, site_key=site_key
    )


async def open_link(request: Request) -> Response:
    state = runtime(request)
    try:
        customer = await service.use_link(state.engine, request.path_params["token"])
    except (Conflict, NotFound) as exc:
        message = exc.message + " " + _("You can ask for a new link below.")
        return _ask_for_link(request, message, 410 if isinstance(exc, Conflict) else 400)
    _log_in(request, customer)
    target = "/account" if customer.password_hash else "/account/password"
    return RedirectResponse(target, status_code=303)


async def _password_form(
    request: Request, customer: Customer, status_code: int = 200, **extra: Any
) -> Response:
    fields = await service.profile_fields(runtime(request).engine, customer.id)
    title = _("Choose your password")
    return _render(
        request, "password", title, status_code, fields=fields, customer=customer, **extra
    )


async def password_page(request: Request) -> Response:
    customer = await current_customer(request)
    if customer is None:
        return RedirectResponse("/account/link", status_code=303)
    return await _password_form(request, customer)


async def password_submit(request: Request) -> Response:
    customer = await current_customer(request)
    if customer is None:
        return RedirectResponse("/account/link", status_code=303)
    form = await checked_form(request)
    try:
        epoch = await service.set_password(
            runtime(request).engine,
            customer.id,
            str(form.get("password", "")),
            str(form.get("password_again", "")),
            {name: str(form.get(name, "")) for name in ("name", "phone")},
        )
    except InvalidRequest as exc:
        return await _password_form(request, customer, 400, message=exc.message)
    request.session[SESSION_KEY] = {"id": customer.id, "epoch": epoch}
    return RedirectResponse("/account", status_code=303)


async def account_page(request: Request) -> Response:
    customer = await current_customer(request)
    if customer is None:
        return RedirectResponse("/account/link", status_code=303)
    purchases = await service.purchases(runtime(request).engine, customer.id)
    return _render(request, "account", _("Your account"), customer=customer, purchases=purchases)


async def link_page(request: Request) -> Response:
    message = _("Enter the e-mail you paid with: we will send you a link to your access.")
    return _ask_for_link(request, message, 200, request.query_params.get("site", ""))


async def link_submit(request: Request) -> Response:
    state = runtime(request)
    form = await checked_form(request)
    email = str(form.get("email", "")).strip()
    site_key = str(form.get("site", ""))
    site = await accounts.site_by_key(state.engine, site_key) if site_key else None
    if "@" in email and len(email) <= 320:
        await service.request_link(state, site.id if site else None, email)
    return _render(
        request,
        "sent",
        _("Check your mailbox"),
        message=_("If there is an account for this e-mail, a link is on its way."),
    )


async def log_out(request: Request) -> Response:
    await checked_form(request)
    request.session.pop(SESSION_KEY, None)
    return RedirectResponse("/account/link", status_code=303)


routes: list[BaseRoute] = [
    Route("/access/{token}", open_link, methods=["GET"]),
    Route("/account", account_page, methods=["GET"]),
    Route("/account/password", password_page, methods=["GET"]),
    Route("/account/password", password_submit, methods=["POST"]),
    Route("/account/link", link_page, methods=["GET"]),
    Route("/account/link", link_submit, methods=["POST"]),
    Route("/account/logout", log_out, methods=["POST"]),
]
