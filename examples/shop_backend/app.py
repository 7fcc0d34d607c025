"""A shop's own backend that sells through Vitrine, with the Python SDK (``vitrine_sdk``).

- ``POST /buy`` (form: ``offer``, ``email``, ``user``) asks Vitrine for a checkout link, with the
  shop's own user id in the order's metadata, and sends the buyer there (303).
- ``POST /vitrine/webhooks`` receives Vitrine's signed webhooks: a bad signature gets 400 and
  changes nothing; ``order.paid`` and ``access.granted`` are recorded once each, however often
  Vitrine delivers them.
- ``GET /purchases?user=…`` shows what was recorded for one of the shop's users.

Settings come from the environment: ``VITRINE_URL``, ``VITRINE_API_KEY`` (a secret API key),
``VITRINE_WEBHOOK_SECRET`` (the webhook endpoint's ``whsec_…`` secret) and ``SHOP_DATABASE`` (a
SQLite file, ``shop.sqlite3`` by default). Run it with ``python app.py`` (port ``PORT``, 8001 by
default) or ``uvicorn --factory app:create_app`` from this directory.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from typing import Any

import vitrine_sdk
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from vitrine_sdk import webhooks

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_events (id TEXT PRIMARY KEY, type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS purchases (
    order_id TEXT PRIMARY KEY, shop_user TEXT, offer TEXT, amount INTEGER, currency TEXT,
    email TEXT, paid_at TEXT
);
CREATE TABLE IF NOT EXISTS grants (
    grant_id INTEGER PRIMARY KEY, order_id TEXT, email TEXT, kind TEXT, value TEXT
);
"""

FORM = """<!doctype html><title>Shop</title>
<form method="post" action="/buy">
  <input name="offer" value="ebook"> <input name="email" type="email" placeholder="e-mail">
  <input name="user" placeholder="your shop user id"> <button>Buy</button>
</form>"""


@dataclass(frozen=True)
class Settings:
    vitrine_url: str
    api_key: str
    webhook_secret: str
    database: str

    @classmethod
    def from_env(cls) -> Settings:
        missing = [
            name
            for name in ("VITRINE_URL", "VITRINE_API_KEY", "VITRINE_WEBHOOK_SECRET")
            if not os.environ.get(name)
        ]
        if missing:
            raise RuntimeError("set " + ", ".join(missing) + " (see README.md)")
        return cls(
            vitrine_url=os.environ["VITRINE_URL"].rstrip("/"),
            api_key=os.environ["VITRINE_API_KEY"],
            webhook_secret=os.environ["VITRINE_WEBHOOK_SECRET"],
            database=os.environ.get("SHOP_DATABASE", "shop.sqlite3"),
        )


class Shop:
    """The shop's records, in a small SQLite file (one short connection per call)."""

    def __init__(self, path: str) -> None:
        self.path = path
        with closing(sqlite3.connect(path)) as db:
            db.executescript(SCHEMA)

    def record(self, event: dict[str, Any]) -> bool:
        """Record one webhook event; False when this event id was already recorded."""
        data = event.get("data") or {}
        with closing(sqlite3.connect(self.path)) as db, db:
            seen = db.execute(
                "INSERT OR IGNORE INTO webhook_events (id, type) VALUES (?, ?)",
                (event["id"], event["type"]),
            )
            if not seen.rowcount:
                return False
            if event["type"] == "order.paid":
                order = data["order"]
                db.execute(
                    "INSERT OR IGNORE INTO purchases VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        order["id"],
                        (order.get("metadata") or {}).get("shop_user"),
                        order.get("offer"),
                        order["amount"],
                        order["currency"],
                        order.get("customer_email"),
                        order.get("fulfilled_at"),
                    ),
                )
            elif event["type"] == "access.granted":
                grant = data["grant"]
                db.execute(
                    "INSERT OR IGNORE INTO grants VALUES (?, ?, ?, ?, ?)",
                    (
                        grant["id"],
                        grant["order_id"],
                        grant["customer_email"],
                        grant["kind"],
                        grant["value"],
                    ),
                )
        return True

    def purchases_of(self, user: str) -> list[dict[str, Any]]:
        with closing(sqlite3.connect(self.path)) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT p.*, g.value AS access FROM purchases p"
                " LEFT JOIN grants g ON g.order_id = p.order_id"
                " WHERE p.shop_user = ? ORDER BY p.paid_at",
                (user,),
            ).fetchall()
        return [dict(row) for row in rows]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    shop = Shop(settings.database)
    vitrine = vitrine_sdk.AsyncClient(settings.api_key, base_url=settings.vitrine_url)

    async def home(request: Request) -> Response:
        return HTMLResponse(FORM)

    async def buy(request: Request) -> Response:
        form = await request.form()
        offer, email, user = (
            str(form.get(name, "")).strip() for name in ("offer", "email", "user")
        )
        if not offer or not user:
            return JSONResponse({"error": "Send the offer and your user id."}, status_code=400)
        try:
            link = await vitrine.checkout_links.create(
                offer=offer, customer_email=email or None, metadata={"shop_user": user}
            )
        except vitrine_sdk.NotFoundError:
            return JSONResponse({"error": "There is no such offer."}, status_code=404)
        except vitrine_sdk.UnprocessableEntityError as error:
            return JSONResponse({"error": error.message}, status_code=400)
        return RedirectResponse(link.url, status_code=303)

    async def receive_webhook(request: Request) -> Response:
        body = await request.body()  # the raw bytes: the signature covers them exactly
        header = request.headers.get(webhooks.SIGNATURE_HEADER)
        try:
            event = webhooks.verify(body, header, settings.webhook_secret)
        except vitrine_sdk.WebhookVerificationError as error:
            return JSONResponse({"error": error.reason}, status_code=400)
        if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
            return JSONResponse({"error": "not an event"}, status_code=400)
        shop.record(event)
        return JSONResponse({"received": True})

    async def purchases(request: Request) -> Response:
        user = request.query_params.get("user", "")
        return Response(json.dumps(shop.purchases_of(user)), media_type="application/json")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with vitrine:
            yield

    return Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            Route("/buy", buy, methods=["POST"]),
            Route("/vitrine/webhooks", receive_webhook, methods=["POST"]),
            Route("/purchases", purchases, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), port=int(os.environ.get("PORT", "8001")))
