"""Payments fixtures: both databases, an API key, counting hooks, a loopback fake of Stripe."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
import stripe
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import SiteTeam
from widget_server.accounts import service as accounts
from widget_server.outbox import service as outbox
from widget_server.outbox.tables import outbox as outbox_table
from widget_server.payments import offers
from widget_server.payments.models import Offer, Order
from widget_server.runtime import Runtime

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


@dataclass
class Calls:
    fulfilled: list[str] = field(default_factory=list)
    refunded: list[str] = field(default_factory=list)


@pytest.fixture
def calls(state: Runtime) -> Calls:
    """Hooks of the app that count fulfilments and refunds per order public id."""
    found = Calls()

    async def on_paid(_state: Runtime, conn: AsyncConnection, order: Order) -> None:
        found.fulfilled.append(order.public_id)

    async def on_refund(_state: Runtime, conn: AsyncConnection, order: Order) -> None:
        found.refunded.append(order.public_id)

    state.payment_hooks.register("test-counter", paid=on_paid, refunded=on_refund)
    return found


@pytest.fixture
async def secret(state: Runtime, team: SiteTeam) -> str:
    _key, value = await accounts.create_api_key(team.access(), state.engine, "tests")
    return value


@pytest.fixture
async def hooked(state: Runtime, team: SiteTeam) -> None:
    """A webhook endpoint, so order.* events are queued in the outbox."""
    await outbox.create_endpoint(
        team.access(), state.engine, url="https://hooks.example.com/vitrine"
    )


async def queued(state: Runtime, topic: str) -> int:
    async with state.engine.connect() as conn:
        query = select(func.count()).select_from(outbox_table).where(outbox_table.c.topic == topic)
        return int((await conn.execute(query)).scalar_one())


async def issued_visit(state: Runtime, team: SiteTeam) -> int:
    """A visit number the site's counter gave out (orders only join visits that exist)."""
    return await state.counter.numbers.take(state.engine, team.site.id)


async def make_offer(state: Runtime, team: SiteTeam, **values: Any) -> Offer:
    body: dict[str, Any] = {
        "slug": "ebook",
        "name": "The e-book",
        "amount": 1500,
        "currency": "eur",
        "success_text": "Thanks, enjoy the book!",
        "failure_text": "Payment failed, sorry.",
        **values,
    }
    return await offers.create_offer(team.access(), state.engine, body)


# --- Stripe ------------------------------------------------------------------------------------


def stripe_event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or "evt_" + secrets.token_hex(8),
        "object": "event",
        "type": kind,
        "api_version": "2025-01-01",
        "created": int(time.time()),
        "data": {"object": obj},
    }


def session_obj(order: Order, payment_status: str, intent: str | None = None) -> dict[str, Any]:
    return {
        "id": order.checkout_id or "cs_unknown",
        "object": "checkout.session",
        "client_reference_id": order.public_id,
        "payment_status": payment_status,
        "payment_intent": intent or "pi_" + order.public_id,
        "amount_total": order.amount,
        "currency": order.currency,
        "customer_details": {"email": "buyer@example.com"},
    }


def signed(event: dict[str, Any], *, timestamp: int | None = None, secret: str = WEBHOOK_SECRET):
    """The body and headers Stripe would send, signed by the library's own helper."""
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


@dataclass
class FakeStripe:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by idempotency key


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    """Stripe's HTTP API on loopback: records requests and honours Idempotency-Key."""
    lock = threading.Lock()
    fake = FakeStripe(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
            key = self.headers.get("Idempotency-Key")
            with lock:
                fake.requests.append(
                    {"path": self.path, "form": dict(form), "idempotency_key": key}
                )
                if self.path == "/v1/checkout/sessions":
                    if key not in fake.sessions:
                        sid = "cs_test_" + secrets.token_hex(6)
                        fake.sessions[str(key)] = {
                            "id": sid,
                            "object": "checkout.session",
                            "url": f"https://checkout.stripe.test/c/pay/{sid}",
                        }
                    answer = fake.sessions[str(key)]
                elif self.path == "/v1/refunds":
                    answer = {"id": "re_" + secrets.token_hex(6), "object": "refund"}
                else:
                    answer = {}
            data = json.dumps(answer).encode()
            self.send_response(200 if answer else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def stripe_settings(fake_stripe: FakeStripe) -> dict[str, Any]:
    return {
        "stripe_secret_key": "sk_test_fake",
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "stripe_api_base": fake_stripe.url,
    }
