"""Buyer-facing pages: direct payment links, the sandbox payment page, the order status page."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from widget_server.access.routes import current_customer
from widget_server.accounts import service as accounts
from widget_server.counter import service as counter
from widget_server.errors import BadRequest, NotFound
from widget_server.i18n import _, negotiate
from widget_server.payments import money, offers, sandbox, service
from widget_server.payments.checkout import active_offer, open_checkout
from widget_server.payments.models import Order
from widget_server.runtime import Runtime, runtime
from widget_server.templating import templates

PAGE = "payments/pay.html"


def _visit_number(text: str) -> int | None:
    """A positive visit number of at most 9 digits, else None (ignored, not refused)."""
    if text.isascii() and text.isdigit() and 0 < len(text) < 10 and int(text) > 0:
        return int(text)
    return None


def _visit_from_cookie(request: Request) -> int | None:
    """The counter's ``_vt`` cookie (``<visit>.<ms>.<utm>``), when the buyer's browser sends it
    here (Vitrine served on the site's own domain); otherwise the visit stays unknown."""
    return _visit_number(request.cookies.get("_vt", "").split(".", 1)[0])


async def _visit_of(request: Request, state: Runtime, site_id: int) -> int | None:
    """``?visit=N`` (what a buy button sends: the counter's visit on the site's page), else the
    ``_vt`` cookie; a number the site's counter never gave out is ignored."""
    number = _visit_number(request.query_params.get("visit", "")) or _visit_from_cookie(request)
    if number is None or not await counter.visit_issued(state, site_id, number):
        return None
    return number


async def pay_link(request: Request) -> Response:
    """A direct payment link: an order for the visit (``?visit=N`` or the ``_vt`` cookie), then
    the gateway's page (303). A customer logged in on this site buys as themselves (their
    e-mail on the order); an offer without guest payment is a 404 to anybody else, as if it
    did not exist. The buyer's language (Accept-Language) goes to the gateway and the e-mails."""
    state = runtime(request)
    site = await accounts.site_by_key(state.engine, request.path_params["site_key"])
    if site is None:
        raise NotFound(_("There is no such offer."))
    offer = await active_offer(state, site.id, request.path_params["slug"])
    customer = await current_customer(request)
    if customer is not None and customer.site_id != site.id:
        customer = None
    if not offer.guest_allowed and customer is None:
        raise NotFound(_("There is no such offer."))
    _order, url = await open_checkout(
        state,
        offer,
        customer_email=customer.email if customer else None,
        visit_number=await _visit_of(request, state, site.id),
        language=negotiate(request.headers.get("accept-language")),
    )
    return RedirectResponse(url, status_code=303)


async def _order_or_404(state: Runtime, public_id: str) -> Order:
    order = await service.order_by_public_id(state.engine, public_id)
    if order is None:
        raise NotFound(_("There is no such order."))
    return order


async def _page(request: Request, order: Order, mode: str) -> Response:
    state = runtime(request)
    offer = await offers.offer_by_id(state.engine, order.offer_id) if order.offer_id else None
    context: dict[str, Any] = {
        "order": order,
        "offer": offer,
        "mode": mode,
        "token": sandbox.token(state.settings.secret_key, order.public_id),
        "amount": money.format_amount(order.amount, order.currency),
        "awaiting": any(
            kind == "awaiting_payment"
            for kind, _data in await service.timeline(state.engine, order.id)
        ),
        "notes": await state.payment_hooks.notes_for(state, order) if mode == "status" else [],
        # A card or delayed payment still being confirmed: the page looks again by itself.
        "refresh": mode == "status" and order.status == "pending" and order.gateway != "manual",
    }
    return templates.TemplateResponse(request, PAGE, context)


async def order_page(request: Request) -> Response:
    """Where the buyer lands after paying: success, failure, waiting, or manual instructions."""
    state = runtime(request)
    order = await _order_or_404(state, request.path_params["order_id"])
    return await _page(request, order, "status")


async def sandbox_page(request: Request) -> Response:
    state = runtime(request)
    order = await _order_or_404(state, request.path_params["order_id"])
    if order.gateway != "sandbox":
        raise NotFound(_("There is no such order."))
    return await _page(request, order, "sandbox")


async def sandbox_submit(request: Request) -> Response:
    """A sandbox button: becomes a normalised PaymentEvent through the real state machine."""
    state = runtime(request)
    public_id = request.path_params["order_id"]
    order = await _order_or_404(state, public_id)
    if order.gateway != "sandbox":
        raise NotFound(_("There is no such order."))
    form = await request.form()
    sandbox.check_token(state.settings.secret_key, public_id, str(form.get("token", "")))
    event = sandbox.event_for(order, str(form.get("action", "")), str(form.get("email", "")))
    if event is None:
        raise BadRequest(_("Unknown sandbox action."))
    await service.apply_event(state, "sandbox", event)
    if event.kind == "completed_unpaid":
        return RedirectResponse(f"/pay/sandbox/{public_id}", status_code=303)
    return RedirectResponse(f"/pay/order/{public_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/pay/sandbox/{order_id}", sandbox_page, methods=["GET"]),
    Route("/pay/sandbox/{order_id}", sandbox_submit, methods=["POST"]),
    Route("/pay/order/{order_id}", order_page, methods=["GET"]),
    Route("/pay/{site_key}/{slug}", pay_link, methods=["GET"]),
]
