"""The outbox in the console (webhook endpoints, deliveries) and /api/v2/webhook_endpoints."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from widget_server.accounts.models import Access
from widget_server.api.auth import api_caller
from widget_server.api.idempotency import idempotent
from widget_server.console.context import (
    checked_form,
    flash,
    local_time,
    redirect,
    render,
    site_access,
)
from widget_server.errors import BadRequest, InvalidRequest
from widget_server.i18n import _
from widget_server.outbox import service, webhooks
from widget_server.outbox.store import Message, WebhookEndpoint
from widget_server.runtime import runtime

# --- console: webhook endpoints --------------------------------------------------------------


def _base(access: Access) -> str:
    return f"/console/sites/{access.site.key}"


async def _webhooks_page(
    request: Request, access: Access, status_code: int = 200, **context: Any
) -> Response:
    endpoints = await service.list_endpoints(access, runtime(request).engine)
    page: dict[str, Any] = {
        "active_tab": "webhooks",
        "endpoints": endpoints,
        "event_types": webhooks.EVENT_TYPES,
        "when": local_time(access),
        "form": {},
        "errors": {},
        "created": None,
    }
    page.update(context)
    return await render(request, "outbox/webhooks.html", page, status_code=status_code)


async def webhooks_page(request: Request) -> Response:
    return await _webhooks_page(request, await site_access(request))


async def create_webhook(request: Request) -> Response:
    access = await site_access(request)
    form = await checked_form(request)
    values = {
        "url": form.get("url", ""),
        "event_types": form.getlist("event_types"),
        "description": form.get("description", ""),
    }
    try:
        created = await service.create_endpoint(access, runtime(request).engine, **values)
    except InvalidRequest as exc:
        errors = {detail["field"]: detail["message"] for detail in exc.details}
        return await _webhooks_page(request, access, 422, form=values, errors=errors)
    # The secret is shown in this response only: never flashed, put in the session or a URL.
    response = await _webhooks_page(request, access, 201, created=created)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _endpoint_form(request: Request) -> tuple[Access, int]:
    access = await site_access(request)
    await checked_form(request)
    return access, request.path_params["endpoint_id"]


async def enable_webhook(request: Request) -> Response:
    access, endpoint_id = await _endpoint_form(request)
    await service.set_endpoint_active(access, runtime(request).engine, endpoint_id, True)
    flash(request, _("The endpoint is enabled."))
    return redirect(f"{_base(access)}/webhooks")


async def disable_webhook(request: Request) -> Response:
    access, endpoint_id = await _endpoint_form(request)
    await service.set_endpoint_active(access, runtime(request).engine, endpoint_id, False)
    flash(request, _("The endpoint is disabled: it receives no events until you enable it."))
    return redirect(f"{_base(access)}/webhooks")


async def delete_webhook(request: Request) -> Response:
    access, endpoint_id = await _endpoint_form(request)
    await service.delete_endpoint(access, runtime(request).engine, endpoint_id)
    flash(request, _("The endpoint is deleted."))
    return redirect(f"{_base(access)}/webhooks")


async def test_webhook(request: Request) -> Response:
    access, endpoint_id = await _endpoint_form(request)
    message_id = await service.send_test_event(access, runtime(request).engine, endpoint_id)
    flash(request, _("A test event is on its way; it shows in the Outbox tab."))
    return redirect(f"{_base(access)}/outbox/{message_id}")


# --- console: the outbox ---------------------------------------------------------------------


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and 0 < len(raw) < 7 else 1


async def outbox_page(request: Request) -> Response:
    access = await site_access(request)
    state = runtime(request)
    kind = request.query_params.get("kind") or None
    status = request.query_params.get("state") or None
    found = await service.list_messages(
        access,
        state.engine,
        kind=kind,
        state=status,
        page=_page_number(request.query_params.get("page")),
    )
    filters = {k: v for k, v in (("kind", kind), ("state", status)) if v}
    return await render(
        request,
        "outbox/outbox.html",
        {
            "active_tab": "outbox",
            "found": found,
            "kind": kind,
            "state": status,
            "filters": filters,
            "kinds": service.KINDS,
            "states": service.STATES,
            "smtp_configured": state.settings.smtp is not None,
            "pending_mail": await service.pending_mail_count(access, state.engine),
            "when": local_time(access),
        },
    )


async def send_test_mail(request: Request) -> Response:
    access = await site_access(request)
    await checked_form(request)
    state = runtime(request)
    await service.send_test_mail(
        access, state.engine, console_url=f"{state.settings.base_url}{_base(access)}/outbox"
    )
    flash(request, _("A test e-mail to {email} is queued.").format(email=access.user.email))
    return redirect(f"{_base(access)}/outbox?kind=mail")


def _pretty(message: Message) -> str:
    if message.kind != "webhook":
        return ""
    return json.dumps(json.loads(message.payload["body"]), indent=2, ensure_ascii=False)


async def message_page(request: Request) -> Response:
    access = await site_access(request)
    state = runtime(request)
    message, attempts = await service.message_detail(
        access, state.engine, request.path_params["outbox_id"]
    )
    return await render(
        request,
        "outbox/message.html",
        {
            "active_tab": "outbox",
            "message": message,
            "attempts": attempts,
            "body": _pretty(message),
            "smtp_configured": state.settings.smtp is not None,
            "when": local_time(access),
        },
    )


async def retry_message(request: Request) -> Response:
    access = await site_access(request)
    await checked_form(request)
    outbox_id = request.path_params["outbox_id"]
    await service.retry_now(access, runtime(request).engine, outbox_id)
    flash(request, _("The message will be sent again within a few seconds."))
    return redirect(f"{_base(access)}/outbox/{outbox_id}")


# --- API -------------------------------------------------------------------------------------


def endpoint_json(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "description": endpoint.description,
        "is_active": endpoint.is_active,
        "created_at": endpoint.created_at.isoformat(),
    }
    if with_secret:
        data["secret"] = endpoint.secret
    return data


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


async def api_list_endpoints(request: Request) -> JSONResponse:
    caller = await api_caller(request)
    found = await service.list_endpoints(caller, runtime(request).engine)
    return JSONResponse({"data": [endpoint_json(endpoint) for endpoint in found]})


@idempotent
async def api_create_endpoint(request: Request) -> Response:
    caller = await api_caller(request)
    data = await _json_object(request)
    created = await service.create_endpoint(
        caller,
        runtime(request).engine,
        url=data.get("url"),
        event_types=data.get("event_types"),
        description=data.get("description", ""),
    )
    return JSONResponse(endpoint_json(created, with_secret=True), status_code=201)


async def api_get_endpoint(request: Request) -> JSONResponse:
    caller = await api_caller(request)
    found = await service.get_endpoint(
        caller, runtime(request).engine, request.path_params["endpoint_id"]
    )
    return JSONResponse(endpoint_json(found))


async def api_delete_endpoint(request: Request) -> Response:
    caller = await api_caller(request)
    await service.delete_endpoint(
        caller, runtime(request).engine, request.path_params["endpoint_id"]
    )
    return Response(status_code=204)


_SITE = "/console/sites/{site_key}"
routes: list[BaseRoute] = [
    Route(f"{_SITE}/webhooks", webhooks_page, methods=["GET"]),
    Route(f"{_SITE}/webhooks", create_webhook, methods=["POST"]),
    Route(f"{_SITE}/webhooks/{{endpoint_id:int}}/enable", enable_webhook, methods=["POST"]),
    Route(f"{_SITE}/webhooks/{{endpoint_id:int}}/disable", disable_webhook, methods=["POST"]),
    Route(f"{_SITE}/webhooks/{{endpoint_id:int}}/delete", delete_webhook, methods=["POST"]),
    Route(f"{_SITE}/webhooks/{{endpoint_id:int}}/test", test_webhook, methods=["POST"]),
    Route(f"{_SITE}/outbox", outbox_page, methods=["GET"]),
    Route(f"{_SITE}/outbox/test-mail", send_test_mail, methods=["POST"]),
    Route(f"{_SITE}/outbox/{{outbox_id:int}}", message_page, methods=["GET"]),
    Route(f"{_SITE}/outbox/{{outbox_id:int}}/retry", retry_message, methods=["POST"]),
]

api_routes: list[BaseRoute] = [
    Route("/api/v2/webhook_endpoints", api_list_endpoints, methods=["GET"]),
    Route("/api/v2/webhook_endpoints", api_create_endpoint, methods=["POST"]),
    Route("/api/v2/webhook_endpoints/{endpoint_id:int}", api_get_endpoint, methods=["GET"]),
    Route("/api/v2/webhook_endpoints/{endpoint_id:int}", api_delete_endpoint, methods=["DELETE"]),
]
