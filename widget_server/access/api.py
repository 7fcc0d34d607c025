"""/api/v2/access: give a paid order's access to an e-mail, take it back, list grants.

The same service path as the console's manual grant and revoke, for the caller's site.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from widget_server.access import service
from widget_server.api.auth import api_caller
from widget_server.api.idempotency import idempotent
from widget_server.errors import BadRequest, InvalidRequest, NotFound, field_error, invalid
from widget_server.i18n import _
from widget_server.runtime import runtime


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


def _grant_id(request: Request) -> int:
    raw = request.path_params["grant_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(_("There is no such access."))
    return int(raw)


@idempotent
async def api_grant(request: Request) -> Response:
    caller = await api_caller(request)
    body = await _json_object(request)
    details: list[dict[str, Any]] = []
    order, email = body.get("order"), body.get("email")
    if not isinstance(order, str) or not order.strip():
        details.append(field_error("order", _("Name the order by its id."), "required"))
    if not isinstance(email, str) or "@" not in email or len(email.strip()) > 320:
        details.append(field_error("email", _("This is not an email address.")))
    if details:
        raise InvalidRequest(" ".join(d["message"] for d in details), details=details)
    assert isinstance(order, str) and isinstance(email, str)
    state = runtime(request)
    grant = await service.grant_order(state, caller.site.id, order.strip(), email.strip())
    [data] = await service.grants_data(state.engine, [grant])
    return JSONResponse(data, status_code=201)


@idempotent
async def api_revoke(request: Request) -> Response:
    caller = await api_caller(request)
    engine = runtime(request).engine
    grant = await service.revoke_grant(engine, caller.site.id, _grant_id(request))
    [data] = await service.grants_data(engine, [grant])
    return JSONResponse(data)


async def api_list_grants(request: Request) -> Response:
    caller = await api_caller(request)
    order = request.query_params.get("order")
    email = request.query_params.get("email")
    if order is not None and not order.strip():
        raise invalid("order", _("Name the order by its id."))
    if email is not None and "@" not in email:
        raise invalid("email", _("This is not an email address."))
    engine = runtime(request).engine
    grants = await service.list_grants(engine, caller.site.id, order_id=order, email=email)
    return JSONResponse({"data": await service.grants_data(engine, grants)})


api_routes: list[BaseRoute] = [
    Route("/api/v2/access", api_list_grants, methods=["GET"]),
    Route("/api/v2/access", api_grant, methods=["POST"]),
    Route("/api/v2/access/{grant_id}/revoke", api_revoke, methods=["POST"]),
]
