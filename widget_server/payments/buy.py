"""Buy buttons: the browser module (``static/dist/buy.js``, built from ``sdk_js/src/buy.js``) that
the counter loads on pages with a ``[data-vitrine-buy]`` element, and the public answer its
label is made of, ``GET /pay/{site_key}/{slug}/offer.json``. A click goes to the direct payment
link (``pages.pay_link``) with ``?visit=N``. The browser's side: docs/counter-protocol.md.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from widget_server.counter import service as counter
from widget_server.errors import NotFound, VitrineError
from widget_server.i18n import _
from widget_server.payments.checkout import active_offer
from widget_server.payments.models import Offer
from widget_server.runtime import runtime
from widget_server.widgets import service as widgets

BUY_MODULE = Path(__file__).resolve().parent.parent / "static" / "dist" / "buy.js"


def module_url(base_url: str) -> str:
    """``BASE/static/dist/buy.js?v=HASH``: the counter config's ``y``."""
    return widgets.chat_module_url(base_url, BUY_MODULE)


def offer_label(offer: Offer) -> dict[str, str | int]:
    """What a buy button shows: the name, and the price in minor units of the currency."""
    return {"name": offer.name, "amount": offer.amount, "currency": offer.currency}


async def offer_json(request: Request) -> Response:
    """An active offer that guests may pay, for the buy button's label; any other slug is a 404
    in the error shape. Public, like the pay link itself: an allowed origin gets
    ``Access-Control-Allow-Origin`` (on errors too, so the button can read them), others get
    the answer without it (the browser keeps it from the page)."""
    state = runtime(request)
    config = await counter.site_config(state, request.path_params["site_key"])
    origin = request.headers.get("origin", "")
    headers = {"Vary": "Origin"}
    if config is not None and config.allows(origin):
        headers["Access-Control-Allow-Origin"] = origin
    try:
        if config is None:
            raise NotFound(_("There is no such offer."))
        offer = await active_offer(state, config.site_id, request.path_params["slug"])
        if not offer.guest_allowed:
            raise NotFound(_("There is no such offer."))
    except VitrineError as exc:
        return JSONResponse(
            exc.to_dict(), status_code=exc.status, headers={**exc.headers, **headers}
        )
    headers["Cache-Control"] = "public, max-age=60"
    return JSONResponse(offer_label(offer), headers=headers)


routes: list[BaseRoute] = [
    Route("/pay/{site_key}/{slug}/offer.json", offer_json, methods=["GET"]),
]
