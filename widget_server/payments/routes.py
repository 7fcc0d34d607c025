"""/api/v2 offers, checkout links and orders, and Stripe's webhook."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from widget_server.api.auth import api_caller
from widget_server.api.idempotency import idempotent
from widget_server.counter import service as counter
from widget_server.errors import BadRequest, InvalidRequest, field_error, invalid
from widget_server.i18n import _
from widget_server.payments import offers, service, stripe_gateway
from widget_server.payments.checkout import active_offer, gateway_named, open_checkout
from widget_server.payments.tables import ORDER_STATUSES
from widget_server.runtime import runtime
from widget_server.settings import LANGUAGES


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body())
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


# --- offers ------------------------------------------------------------------------------------


async def api_list_offers(request: Request) -> Response:
    caller = await api_caller(request)
    found = await offers.list_offers(runtime(request).engine, caller.site.id)
    return JSONResponse({"data": [offers.offer_data(offer) for offer in found]})


@idempotent
async def api_create_offer(request: Request) -> Response:
    caller = await api_caller(request)
    body = await _json_object(request)
    offer = await offers.create_site_offer(runtime(request).engine, caller.site.id, body)
    return JSONResponse(offers.offer_data(offer), status_code=201)


@idempotent
async def api_update_offer(request: Request) -> Response:
    """Change the fields given (the slug stays); the same rules as on creation."""
    caller = await api_caller(request)
    body = await _json_object(request)
    slug = request.path_params["slug"]
    offer = await offers.update_site_offer(runtime(request).engine, caller.site.id, slug, body)
    return JSONResponse(offers.offer_data(offer))


async def api_get_offer(request: Request) -> Response:
    caller = await api_caller(request)
    slug = request.path_params["slug"]
    offer = await offers.get_offer(runtime(request).engine, caller.site.id, slug)
    return JSONResponse(offers.offer_data(offer))


# --- checkout links ----------------------------------------------------------------------------


def _optional_text(body: dict[str, Any], name: str, details: list[dict[str, Any]]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 2048:
        details.append(field_error(name, _("This must be non-empty text.")))
        return None
    return value.strip()


@idempotent
async def api_create_checkout_link(request: Request) -> Response:
    caller = await api_caller(request)
    body = await _json_object(request)
    details: list[dict[str, Any]] = []
    slug = body.get("offer")
    if not isinstance(slug, str) or not slug:
        details.append(field_error("offer", _("Name the offer by its slug."), "required"))
    email = _optional_text(body, "customer_email", details)
    if email is not None and ("@" not in email or len(email) > 320):
        details.append(field_error("customer_email", _("This is not an email address.")))
    success_url = _optional_text(body, "success_url", details)
    cancel_url = _optional_text(body, "cancel_url", details)
    for name, url in (("success_url", success_url), ("cancel_url", cancel_url)):
        if url is not None and not url.startswith(("https://", "http://")):
            details.append(field_error(name, _("This must be an http(s) URL.")))
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    # Any other type, falsy ones ("", [], 0) included, is refused rather than read as {}.
    if not isinstance(metadata, dict) or len(json.dumps(metadata)) > 4000:
        details.append(field_error("metadata", _("Metadata must be a small JSON object.")))
    visit = body.get("visit")
    if visit is not None and (isinstance(visit, bool) or not isinstance(visit, int) or visit < 1):
        details.append(field_error("visit", _("The visit must be a visit number.")))
    language = body.get("language")
    if language is not None and language not in LANGUAGES:
        message = _("Known languages: {names}.").format(names=", ".join(LANGUAGES))
        details.append(field_error("language", message))
    if details:
        raise InvalidRequest(" ".join(d["message"] for d in details), details=details)
    assert isinstance(slug, str)
    state = runtime(request)
    if visit is not None and not await counter.visit_issued(state, caller.site.id, visit):
        raise counter.unknown_visit()
    offer = await active_offer(state, caller.site.id, slug)
    order, url = await open_checkout(
        state,
        offer,
        customer_email=email,
        metadata=metadata,
        visit_number=visit,
        success_url=success_url,
        cancel_url=cancel_url,
        language=language,
    )
    return JSONResponse({"order": service.order_data(order), "url": url}, status_code=201)


# --- orders ------------------------------------------------------------------------------------


async def api_list_orders(request: Request) -> Response:
    caller = await api_caller(request)
    status = request.query_params.get("status")
    if status is not None and status not in ORDER_STATUSES:
        raise invalid(
            "status", _("Unknown status. Known: {names}.").format(names=", ".join(ORDER_STATUSES))
        )
    raw_limit = request.query_params.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise invalid("limit", _("The limit must be a whole number from 1 to 100."))
    starting_after = request.query_params.get("starting_after")
    if starting_after is not None and not starting_after:
        raise invalid("starting_after", _("Give the id of the last order of the previous page."))
    found, has_more = await service.page_of_orders(
        runtime(request).engine, caller.site.id, status, int(raw_limit), starting_after
    )
    data = [service.order_data(order) for order in found]
    return JSONResponse({"data": data, "has_more": has_more})


async def api_get_order(request: Request) -> Response:
    caller = await api_caller(request)
    order = await service.get_order(
        runtime(request).engine, caller.site.id, request.path_params["order_id"]
    )
    return JSONResponse(service.order_data(order))


@idempotent
async def api_refund_order(request: Request) -> Response:
    caller = await api_caller(request)
    body = await _json_object(request) if await request.body() else {}
    amount = body.get("amount")
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0
    ):
        raise invalid("amount", _("The amount must be a positive whole number of minor units."))
    state = runtime(request)
    order = await service.get_order(state.engine, caller.site.id, request.path_params["order_id"])
    refunded = await service.refund(
        state, gateway_named(state, order.gateway), caller.site.id, order.public_id, amount
    )
    return JSONResponse(service.order_data(refunded))


# --- Stripe's webhook --------------------------------------------------------------------------


async def stripe_webhook(request: Request) -> Response:
    """Verify the raw body, then apply each event; nothing is written for a bad signature."""
    state = runtime(request)
    events = stripe_gateway.parse_webhook(
        await request.body(),
        request.headers.get("stripe-signature"),
        state.settings.stripe_webhook_secret,
    )
    for event in events:
        await service.apply_event(state, "stripe", event)
    return JSONResponse({"received": True})


routes: list[BaseRoute] = [
    Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
]

api_routes: list[BaseRoute] = [
    Route("/api/v2/offers", api_list_offers, methods=["GET"]),
    Route("/api/v2/offers", api_create_offer, methods=["POST"]),
    Route("/api/v2/offers/{slug}", api_get_offer, methods=["GET"]),
    Route("/api/v2/offers/{slug}", api_update_offer, methods=["PATCH"]),
    Route("/api/v2/checkout_links", api_create_checkout_link, methods=["POST"]),
    Route("/api/v2/orders", api_list_orders, methods=["GET"]),
    Route("/api/v2/orders/{order_id}", api_get_order, methods=["GET"]),
    Route("/api/v2/orders/{order_id}/refund", api_refund_order, methods=["POST"]),
]
