"""The console's Offers and Orders tabs (admins only): offers to create, edit and switch off;
orders to search, each with its timeline, refunds, offline payments and the access it gives
(the access actions themselves are in ``access/console.py``)."""

from __future__ import annotations

from typing import Any

import stripe
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from widget_server.access import service as access_service
from widget_server.accounts.models import Access
from widget_server.console.auth import admin_access
from widget_server.console.context import checked_form, flash, local_time, redirect, render
from widget_server.errors import Conflict, InvalidRequest, VitrineError, field_error, invalid
from widget_server.i18n import _
from widget_server.payments import money, offers, service
from widget_server.payments.checkout import gateway_named
from widget_server.payments.models import Offer, Order
from widget_server.payments.tables import ORDER_STATUSES
from widget_server.runtime import runtime

PAGE_SIZE = 50
TEXT_FIELDS = ("name", "description", "success_text", "failure_text", "bank_instructions")


def _base(access: Access) -> str:
    return f"/console/sites/{access.site.key}"


def method_names() -> dict[str, str]:
    return {
        "card": _("Card"),
        "cash": _("Cash"),
        "bank_transfer": _("Bank transfer"),
        "pay_later": _("Pay later"),
    }


def status_names() -> dict[str, str]:
    return {
        "pending": _("Awaiting payment"),
        "paid": _("Paid"),
        "failed": _("Failed"),
        "expired": _("Expired"),
        "refunded": _("Refunded"),
        "partially_refunded": _("Partially refunded"),
    }


def _page_context(access: Access, tab: str, **more: Any) -> dict[str, Any]:
    return {
        "active_tab": tab,
        "money": money.format_amount,
        "methods": method_names(),
        "customer_field_names": {"name": _("Name"), "phone": _("Phone")},
        "statuses": status_names(),
        "when": local_time(access),
        **more,
    }


# --- offers ------------------------------------------------------------------------------------


def offer_values(offer: Offer | None) -> dict[str, Any]:
    """What the offer form shows: an offer's fields as strings, or the defaults of a new one."""
    if offer is None:
        return {
            **dict.fromkeys(("slug", "price", "grant_kind", "grant_value", *TEXT_FIELDS), ""),
            "currency": "eur",
            "guest_allowed": True,
            "methods": ["card"],
            "customer_fields": [],
        }
    grants = offer.grants or {}
    amount = money.price_text(offer.amount, offer.currency)
    return {
        **{name: getattr(offer, name) for name in ("slug", *TEXT_FIELDS)},
        "price": amount,
        "currency": offer.currency,
        "guest_allowed": offer.guest_allowed,
        "methods": list(offer.methods),
        "customer_fields": list(offer.customer_fields),
        "grant_kind": str(grants.get("kind", "")),
        "grant_value": str(grants.get("value", "")),
    }


def values_from_form(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(form.get(name, "")) for name in TEXT_FIELDS}
    for name in ("slug", "price", "currency", "grant_kind", "grant_value"):
        values[name] = str(form.get(name, "")).strip()
    values["currency"] = values["currency"].lower()
    values["guest_allowed"] = form.get("guest_allowed") in ("1", "on")
    values["methods"] = [str(m) for m in form.getlist("methods")]
    values["customer_fields"] = [str(f) for f in form.getlist("customer_fields")]
    return values


def offer_body(values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The create/update body of the form's values; InvalidRequest naming every bad field
    (the form's own rules, then the offer rules the API applies too)."""
    details: list[dict[str, Any]] = []
    body: dict[str, Any] = {name: values[name] for name in TEXT_FIELDS}
    body.update(
        currency=values["currency"],
        guest_allowed=values["guest_allowed"],
        methods=values["methods"],
        customer_fields=values["customer_fields"],
    )
    if creating:
        body["slug"] = values["slug"]
    amount = money.parse_amount(values["price"], values["currency"] or "eur")
    if amount is None:
        places = money.exponent(values["currency"] or "eur")
        message = _("Enter the price as a positive number with at most {n} decimals.")
        details.append(field_error("amount", message.format(n=places)))
    else:
        body["amount"] = amount
    if not values["grant_kind"]:
        body["grants"] = None
    elif not values["grant_value"]:
        details.append(field_error("grants", _("Say what the buyer gets (a URL, file or page).")))
    else:
        body["grants"] = {"kind": values["grant_kind"], "value": values["grant_value"]}
    try:
        offers.clean_offer(body, partial=not creating)
    except InvalidRequest as exc:
        named = {d["field"] for d in details}
        details.extend(d for d in exc.details if d["field"] not in named)
    if details:
        raise InvalidRequest(" ".join(d["message"] for d in details), details=details)
    return body


async def offers_page(request: Request) -> Response:
    access = await admin_access(request)
    found = await offers.list_offers(runtime(request).engine, access.site.id)
    return await render(
        request, "payments/console_offers.html", _page_context(access, "offers", offers=found)
    )


async def _offer_form(
    request: Request,
    access: Access,
    values: dict[str, Any],
    offer: Offer | None,
    error: VitrineError | None = None,
) -> Response:
    context = _page_context(
        access,
        "offers",
        offer=offer,
        values=values,
        error=error,
        grant_kinds=offers.GRANT_KINDS,
        method_order=offers.METHODS,
    )
    return await render(
        request, "payments/console_offer_form.html", context, error.status if error else 200
    )


async def new_offer_page(request: Request) -> Response:
    access = await admin_access(request)
    return await _offer_form(request, access, offer_values(None), None)


async def create_offer(request: Request) -> Response:
    form = await checked_form(request)
    access = await admin_access(request)
    values = values_from_form(form)
    try:
        body = offer_body(values, creating=True)
        offer = await offers.create_site_offer(runtime(request).engine, access.site.id, body)
    except VitrineError as exc:
        if exc.status >= 500:
            raise
        if exc.status == 409:  # the slug is taken: show it at the slug field
            exc = invalid("slug", exc.message, "taken")
        return await _offer_form(request, access, values, None, exc)
    flash(request, _("Offer {name} created.").format(name=offer.name))
    return redirect(f"{_base(access)}/offers")


async def edit_offer_page(request: Request) -> Response:
    access = await admin_access(request)
    engine = runtime(request).engine
    offer = await offers.get_offer(engine, access.site.id, request.path_params["slug"])
    return await _offer_form(request, access, offer_values(offer), offer)


async def save_offer(request: Request) -> Response:
    form = await checked_form(request)
    access = await admin_access(request)
    engine = runtime(request).engine
    offer = await offers.get_offer(engine, access.site.id, request.path_params["slug"])
    values = {**values_from_form(form), "slug": offer.slug}
    try:
        body = offer_body(values, creating=False)
    except InvalidRequest as exc:
        return await _offer_form(request, access, values, offer, exc)
    saved = await offers.update_site_offer(engine, access.site.id, offer.slug, body)
    flash(request, _("Offer {name} saved.").format(name=saved.name))
    return redirect(f"{_base(access)}/offers")


async def _set_active(request: Request, active: bool) -> Response:
    await checked_form(request)
    access = await admin_access(request)
    slug = request.path_params["slug"]
    offer = await offers.update_site_offer(
        runtime(request).engine, access.site.id, slug, {"active": active}
    )
    if active:
        flash(request, _("Offer {name} is on sale again.").format(name=offer.name))
    else:
        flash(request, _("Offer {name} is no longer on sale.").format(name=offer.name))
    return redirect(f"{_base(access)}/offers")


async def activate_offer(request: Request) -> Response:
    return await _set_active(request, True)


async def deactivate_offer(request: Request) -> Response:
    return await _set_active(request, False)


# --- orders ------------------------------------------------------------------------------------


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


async def orders_page(request: Request) -> Response:
    access = await admin_access(request)
    engine = runtime(request).engine
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in ORDER_STATUSES:
        names = ", ".join(ORDER_STATUSES)
        raise invalid("status", _("Unknown status. Known: {names}.").format(names=names))
    text = params.get("q", "").strip()[:320]
    manual_only = params.get("manual") == "1"
    number = _page_number(params.get("page"))
    flagged = {o.id for o in await access_service.flagged_orders(access, engine)}
    found = await service.search_orders(
        engine,
        access.site.id,
        status=status,
        text=text,
        among=sorted(flagged) if manual_only else None,
        limit=PAGE_SIZE + 1,
        offset=(number - 1) * PAGE_SIZE,
    )
    filters = {"status": status or "", "q": text, "manual": "1" if manual_only else ""}
    context = _page_context(
        access,
        "orders",
        orders=found[:PAGE_SIZE],
        flagged=flagged,
        filters={k: v for k, v in filters.items() if v},
        status=status or "",
        text=text,
        manual_only=manual_only,
        number=number,
        has_next=len(found) > PAGE_SIZE,
    )
    return await render(request, "payments/console_orders.html", context)


def describe_event(kind: str, data: dict[str, Any], order: Order) -> str:
    """One timeline entry as a sentence."""
    amount = data.get("amount")
    sentences = {
        "created": _("Order created (method: {method}).").format(
            method=method_names().get(str(data.get("method")), str(data.get("method")))
        ),
        "paid": _("Payment recorded; the order is fulfilled."),
        "marked_paid": _("Marked paid in the console."),
        "awaiting_payment": _("Checkout completed; waiting for the payment to arrive."),
        "refunded": _("Refunded {amount}.").format(
            amount=money.format_amount(int(amount), order.currency)
            if isinstance(amount, int)
            else "?"
        ),
        "amount_mismatch": _(
            "The gateway reported {paid} paid for an order of {expected}: not fulfilled."
        ).format(
            paid=money.format_amount(int(data.get("paid") or 0), str(data.get("paid_currency"))),
            expected=money.format_amount(int(data.get("expected") or 0), order.currency),
        ),
        "gateway:completed_paid": _("Gateway: checkout completed and paid."),
        "gateway:completed_unpaid": _("Gateway: checkout completed, payment still pending."),
        "gateway:async_succeeded": _("Gateway: the delayed payment succeeded."),
        "gateway:async_failed": _("Gateway: the payment failed."),
        "gateway:expired": _("Gateway: the checkout expired unpaid."),
        "gateway:refunded": _("Gateway: a refund was reported."),
    }
    return sentences.get(kind, kind)


async def order_page(
    request: Request,
    access: Access,
    order_id: str,
    error: VitrineError | None = None,
    failed_form: str = "",
) -> Response:
    """The order's page; after a refused action, drawn again with the error at its form."""
    engine = runtime(request).engine
    order = await service.get_order(engine, access.site.id, order_id)
    offer = await offers.offer_by_id(engine, order.offer_id) if order.offer_id else None
    flagged = {o.id for o in await access_service.flagged_orders(access, engine)}
    entries = [
        (describe_event(kind, data, order), at)
        for kind, data, at in await service.dated_timeline(engine, order.id)
    ]
    context = _page_context(
        access,
        "orders",
        order=order,
        offer=offer,
        timeline=entries,
        holder=await access_service.access_of_order(access, engine, order),
        flagged=order.id in flagged,
        refundable=order.fulfilled_at is not None and order.refunded_amount < order.amount,
        left_to_refund=money.format_amount(order.amount - order.refunded_amount, order.currency),
        payable=order.gateway == "manual" and order.status == "pending",
        error=error,
        failed_form=failed_form,
    )
    status_code = error.status if error else 200
    return await render(request, "payments/console_order.html", context, status_code)


async def order_detail(request: Request) -> Response:
    access = await admin_access(request)
    return await order_page(request, access, request.path_params["order_id"])


def _order_url(access: Access, order_id: str) -> str:
    return f"{_base(access)}/orders/{order_id}"


async def refund_order(request: Request) -> Response:
    form = await checked_form(request)
    access = await admin_access(request)
    state = runtime(request)
    order = await service.get_order(state.engine, access.site.id, request.path_params["order_id"])
    typed = str(form.get("amount", "")).strip()
    amount = money.parse_amount(typed, order.currency) if typed else None
    try:
        if typed and amount is None:
            message = _("Enter the amount as a positive number with at most {n} decimals.")
            raise invalid("amount", message.format(n=money.exponent(order.currency)))
        gateway = gateway_named(state, order.gateway)
        refunded = await service.refund(state, gateway, access.site.id, order.public_id, amount)
    except stripe.StripeError as exc:
        message = exc.user_message or str(exc) or type(exc).__name__
        flash(
            request,
            _("The payment gateway refused the refund: {reason}").format(reason=message),
            "error",
        )
        return redirect(_order_url(access, order.public_id))
    except VitrineError as exc:
        if exc.status >= 500:
            raise
        return await order_page(request, access, order.public_id, exc, "refund")
    given = refunded.refunded_amount - order.refunded_amount
    flash(
        request, _("Refunded {amount}.").format(amount=money.format_amount(given, order.currency))
    )
    return redirect(_order_url(access, order.public_id))


async def mark_order_paid(request: Request) -> Response:
    await checked_form(request)
    access = await admin_access(request)
    order_id = request.path_params["order_id"]
    state = runtime(request)
    order = await service.get_order(state.engine, access.site.id, order_id)
    try:
        if order.gateway != "manual":
            raise Conflict(_("Only an offline order is marked paid here; this one pays online."))
        await service.mark_paid(access, state, order_id)
    except VitrineError as exc:
        if exc.status >= 500:
            raise
        return await order_page(request, access, order_id, exc, "mark_paid")
    flash(request, _("The order is marked paid."))
    return redirect(_order_url(access, order_id))


_SITE = "/console/sites/{site_key}"
_OFFER = _SITE + "/offers/{slug}"
_ORDER = _SITE + "/orders/{order_id}"

routes: list[BaseRoute] = [
    Route(_SITE + "/offers", offers_page, methods=["GET"]),
    Route(_SITE + "/offers", create_offer, methods=["POST"]),
    Route(_SITE + "/offers/new", new_offer_page, methods=["GET"]),
    Route(_OFFER + "/edit", edit_offer_page, methods=["GET"]),
    Route(_OFFER + "/edit", save_offer, methods=["POST"]),
    Route(_OFFER + "/activate", activate_offer, methods=["POST"]),
    Route(_OFFER + "/deactivate", deactivate_offer, methods=["POST"]),
    Route(_SITE + "/orders", orders_page, methods=["GET"]),
    Route(_ORDER, order_detail, methods=["GET"]),
    Route(_ORDER + "/refund", refund_order, methods=["POST"]),
    Route(_ORDER + "/mark-paid", mark_order_paid, methods=["POST"]),
]
