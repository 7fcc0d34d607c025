"""examples/shop_backend against a real Vitrine server: buy through the example, pay on the
sandbox page, let Vitrine's outbox deliver the signed webhooks to it, refuse forged ones."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import uvicorn
import vitrine_sdk
from starlette.applications import Starlette
from vitrine_sdk import webhooks

from tests.conftest import LiveServer, free_port, seed
from tests.sdk.test_payments import EBOOK, make_secret, pay_in_sandbox
from widget_server.outbox import delivery
from widget_server.runtime import Runtime

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shop_backend" / "app.py"
BOOK = {**EBOOK, "grants": {"kind": "url", "value": "https://example.com/book.pdf"}}


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("shop_backend_app", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@contextmanager
def serve(app: Starlette, port: int) -> Iterator[str]:
    """uvicorn serving ``app`` on ``port`` in a thread, as Vitrine's live server is served."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the example did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def deliver(state: Runtime) -> int:
    return await delivery.deliver_due(state)


def test_the_example_sells_and_records_signed_webhooks(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret, _site_key = seed(live_server, make_secret)
    port = free_port()
    with vitrine_sdk.Client(secret, base_url=live_server.url) as vitrine:
        vitrine.offers.create(**BOOK)
        endpoint = vitrine.webhook_endpoints.create(
            url=f"http://127.0.0.1:{port}/vitrine/webhooks",
            event_types=["order.paid", "access.granted"],
        )
    assert endpoint.secret
    monkeypatch.setenv("VITRINE_URL", live_server.url)
    monkeypatch.setenv("VITRINE_API_KEY", secret)
    monkeypatch.setenv("VITRINE_WEBHOOK_SECRET", endpoint.secret)
    monkeypatch.setenv("SHOP_DATABASE", str(tmp_path / "shop.sqlite3"))
    example = load_example()

    with serve(example.create_app(), port) as shop, httpx.Client(base_url=shop) as browser:
        form = {"offer": "ebook", "email": "ann@example.com", "user": "u-42"}
        bought = browser.post("/buy", data=form)
        assert bought.status_code == 303, bought.text
        checkout_url = bought.headers["location"]
        assert checkout_url.startswith(f"{live_server.url}/pay/sandbox/ord_")
        order_id = checkout_url.rsplit("/", 1)[1]
        with vitrine_sdk.Client(secret, base_url=live_server.url) as vitrine:
            order = vitrine.orders.get(order_id)
        assert (order.metadata, order.customer_email, order.offer) == (
            {"shop_user": "u-42"},
            "ann@example.com",
            "ebook",
        )
        assert browser.post("/buy", data={**form, "offer": "missing"}).status_code == 404
        assert browser.get("/purchases", params={"user": "u-42"}).json() == []

        pay_in_sandbox(checkout_url)
        assert seed(live_server, deliver) == 2  # order.paid and access.granted
        [purchase] = browser.get("/purchases", params={"user": "u-42"}).json()
        assert purchase["order_id"] == order_id
        assert (purchase["offer"], purchase["amount"], purchase["currency"]) == (
            "ebook",
            1500,
            "eur",
        )
        assert purchase["email"] == "ann@example.com" and purchase["paid_at"]
        assert purchase["access"] == "https://example.com/book.pdf"  # from access.granted

        # A forged or unsigned webhook is refused with 400 and records nothing.
        forged_event = {
            "id": "evt_forged",
            "type": "order.paid",
            "created": int(time.time()),
            "site": "x",
            "data": {
                "order": {
                    "id": "ord_forged",
                    "amount": 1,
                    "currency": "eur",
                    "metadata": {"shop_user": "u-42"},
                }
            },
        }
        body = json.dumps(forged_event)
        for header in (
            webhooks.sign(body, "whsec_not_the_secret"),
            webhooks.sign(body, endpoint.secret, timestamp=int(time.time()) - 3600),
            "t=1,v1=00",
            None,
        ):
            headers = {"Content-Type": "application/json"}
            if header is not None:
                headers[webhooks.SIGNATURE_HEADER] = header
            refused = browser.post("/vitrine/webhooks", content=body, headers=headers)
            assert refused.status_code == 400, header
        assert [p["order_id"] for p in browser.get("/purchases?user=u-42").json()] == [order_id]
        # The same bytes signed with the endpoint's secret are accepted, and recorded once
        # however often they arrive.
        for _again in range(2):
            signed = {webhooks.SIGNATURE_HEADER: webhooks.sign(body, endpoint.secret)}
            assert (
                browser.post("/vitrine/webhooks", content=body, headers=signed).status_code == 200
            )
        recorded = browser.get("/purchases?user=u-42").json()
        assert sorted(p["order_id"] for p in recorded) == sorted(["ord_forged", order_id])


def test_the_example_refuses_to_start_without_its_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("VITRINE_URL", "VITRINE_API_KEY", "VITRINE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="VITRINE_API_KEY"):
        load_example().create_app()
