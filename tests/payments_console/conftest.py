"""Console payments fixtures: the payments ones (both databases, webhooks queued), an admin's
HTTP client, paid and flagged orders, and a loopback Stripe that refuses refunds."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.conftest import SiteTeam, log_in
from tests.payments.conftest import database_url, hooked, make_offer
from widget_server.payments import sandbox, service
from widget_server.payments.checkout import open_checkout
from widget_server.payments.models import Order
from widget_server.runtime import Runtime

__all__ = ["database_url", "hooked"]

GRANTS = {"kind": "url", "value": "https://example.com/book.pdf"}


@dataclass
class Admin:
    http: httpx.AsyncClient
    csrf: str
    base: str

    async def post(self, path: str, **data: str) -> httpx.Response:
        return await self.http.post(
            self.base + path,
            data={"csrf_token": self.csrf, **data},
            headers={"accept": "text/html"},
        )

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.http.get(self.base + path, params=params)


@pytest.fixture
async def admin(client: httpx.AsyncClient, team: SiteTeam) -> Admin:
    """The site's admin (not its owner), logged in through the real form."""
    csrf = await log_in(client, "admin@example.com")
    return Admin(client, csrf, f"/console/sites/{team.site.key}")


async def paid_order(
    state: Runtime, team: SiteTeam, email: str | None, slug: str = "ebook", **offer: Any
) -> Order:
    """A sandbox order of a (new) offer that grants a URL, paid as the sandbox page would."""
    made = await make_offer(state, team, slug=slug, grants=GRANTS, **offer)
    order, _url = await open_checkout(state, made, customer_email=email)
    event = sandbox.event_for(order, "pay")
    assert event is not None
    await service.apply_event(state, "sandbox", event)
    return await service.get_order(state.engine, team.site.id, order.public_id)


@dataclass
class RefusingStripe:
    url: str
    refunds: list[str] = field(default_factory=list)


@pytest.fixture
def refusing_stripe(monkeypatch: pytest.MonkeyPatch) -> Iterator[RefusingStripe]:
    """Stripe's API on loopback, answering every refund with Stripe's own error shape."""
    fake = RefusingStripe(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            fake.refunds.append(self.rfile.read(length).decode())
            error = {
                "type": "invalid_request_error",
                "code": "charge_already_refunded",
                "message": "Charge ch_1 has already been refunded.",
            }
            data = json.dumps({"error": error}).encode()
            self.send_response(400)
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
