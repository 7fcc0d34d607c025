"""The access actions on the console's order page (admins only): give a flagged order's access
to an e-mail, send the holder a fresh link, revoke a grant, move it to another e-mail.

A refused action draws the order page again with the error at its form (4xx)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from widget_server.access import service
from widget_server.accounts.models import Access
from widget_server.console.auth import admin_access
from widget_server.console.context import checked_form, flash, redirect
from widget_server.errors import NotFound, VitrineError
from widget_server.i18n import _
from widget_server.payments import service as payments
from widget_server.payments.console import order_page
from widget_server.runtime import runtime

Action = Callable[[Request, Access, str], Awaitable[str]]


def _action(name: str, act: Action) -> Callable[[Request], Awaitable[Response]]:
    """A POST handler: check the form, run ``act``, flash its message and go back to the order;
    a refusal other than "not found" is shown on the order page at the form ``name``."""

    async def handler(request: Request) -> Response:
        await checked_form(request)
        access = await admin_access(request)
        order_id = request.path_params["order_id"]
        try:
            message = await act(request, access, order_id)
        except VitrineError as exc:
            if exc.status >= 500 or isinstance(exc, NotFound):
                raise
            return await order_page(request, access, order_id, exc, name)
        flash(request, message)
        return redirect(f"/console/sites/{access.site.key}/orders/{order_id}")

    return handler


async def _email(request: Request) -> str:
    form = await request.form()  # already CSRF-checked by the handler
    return str(form.get("email", "")).strip()


async def _grant_id(request: Request, access: Access, order_id: str) -> int:
    """The grant in the path, which must be the order's own."""
    grant_id: int = request.path_params["grant_id"]
    order = await payments.get_order(runtime(request).engine, access.site.id, order_id)
    held = await service.access_of_order(access, runtime(request).engine, order)
    if held is None or held.grant.id != grant_id:
        raise NotFound(_("There is no such access."))
    return grant_id


async def _grant(request: Request, access: Access, order_id: str) -> str:
    email = await _email(request)
    await service.grant_manually(access, runtime(request), order_id, email)
    return _("Access given to {email}; a link is on its way.").format(email=email)


async def _resend(request: Request, access: Access, order_id: str) -> str:
    holder = await service.resend_access(access, runtime(request), order_id)
    return _("A new access link is on its way to {email}.").format(email=holder.email)


async def _revoke(request: Request, access: Access, order_id: str) -> str:
    grant_id = await _grant_id(request, access, order_id)
    await service.revoke(access, runtime(request).engine, grant_id)
    return _("Access revoked.")


async def _move(request: Request, access: Access, order_id: str) -> str:
    grant_id = await _grant_id(request, access, order_id)
    email = await _email(request)
    await service.move(access, runtime(request), grant_id, email)
    return _("Access moved to {email}; a link is on its way.").format(email=email)


_ORDER = "/console/sites/{site_key}/orders/{order_id}"
_GRANT = _ORDER + "/grants/{grant_id:int}"

routes: list[BaseRoute] = [
    Route(_ORDER + "/grant", _action("grant", _grant), methods=["POST"]),
    Route(_ORDER + "/resend-access", _action("resend", _resend), methods=["POST"]),
    Route(_GRANT + "/revoke", _action("revoke", _revoke), methods=["POST"]),
    Route(_GRANT + "/move", _action("move", _move), methods=["POST"]),
]
