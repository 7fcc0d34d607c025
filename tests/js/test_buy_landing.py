"""Acceptance, end to end in real Chromium against a real server with its background jobs: a buy
button on the example landing page → the sandbox payment page → the success page → the access
e-mail, delivered by the outbox to a real aiosmtpd server → its link asks for a password →
/account shows the access. The same link a second time, and a fresh link once expired, are
refused with a page that offers a new one."""

from __future__ import annotations

import email
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from tests.conftest import LiveServer, seed
from tests.js.landing import serve_landing
from tests.outbox.conftest import SmtpServer, smtp_server
from widget_server.access.tables import magic_links
from widget_server.db.metadata import utcnow
from widget_server.runtime import Runtime
from widget_server.settings import SmtpSettings

__all__ = ["smtp_server"]

pytestmark = pytest.mark.browser

BUYER = "camille@example.fr"
PASSWORD = "a long enough password"
TIMEOUT = 15_000  # ms
_LINK = re.compile(r"https?://\S+/access/[A-Za-z0-9_-]+")


@pytest.fixture
def shop(tmp_path: Path, smtp_server: SmtpServer) -> Iterator[tuple[LiveServer, str]]:
    smtp = SmtpSettings(
        host=smtp_server.host,
        port=smtp_server.port,
        username=None,
        password=None,
        use_tls=False,
        start_tls=False,
    )
    with serve_landing(tmp_path, run_jobs=True, smtp=smtp) as served:
        yield served


def _links_mailed(smtp_server: SmtpServer, count: int, timeout: float = 15) -> list[str]:
    """The access links of the first ``count`` mails to the buyer, once they have arrived."""
    deadline = time.monotonic() + timeout
    while True:
        mails = [e for e in smtp_server.inbox.envelopes if BUYER in e.rcpt_tos]
        if len(mails) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(mails) >= count, f"{len(mails)} mail(s) to {BUYER}, expected {count}"
    links = []
    for envelope in mails:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        match = _LINK.search(body.get_content())
        assert match, body.get_content()
        links.append(match.group(0))
    return links


def _expire_links(server: LiveServer) -> None:
    async def expire(state: Runtime) -> None:
        async with state.engine.begin() as conn:
            await conn.execute(update(magic_links).values(expires_at=utcnow() - timedelta(1)))

    seed(server, expire)


def test_a_buy_button_payment_mails_an_access_link_that_works_once(
    shop: tuple[LiveServer, str], smtp_server: SmtpServer, chromium: Any
) -> None:
    server, _key = shop
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        errors: list[str] = []
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url + "/")
        button = page.locator('[data-vitrine-buy="taster"] button')
        expect(button).to_be_enabled(timeout=TIMEOUT)
        button.click()

        page.wait_for_url(re.compile(r"/pay/sandbox/ord_"), timeout=TIMEOUT)
        expect(page.locator("[data-sandbox]")).to_be_visible()
        page.fill("input[name=email]", BUYER)
        page.click("button[value=pay]")
        page.wait_for_url(re.compile(r"/pay/order/ord_"))
        expect(page.locator("[data-result=success]")).to_be_visible()

        [link] = _links_mailed(smtp_server, 1)
        assert link.startswith(server.url + "/access/")
        page.goto(link)
        page.wait_for_url(server.url + "/account/password")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_again]", PASSWORD)
        page.click("form[action='/account/password'] button")
        page.wait_for_url(server.url + "/account")
        expect(page.locator("main")).to_contain_text("Taster")

        page.goto(link)  # the same link again
        expect(page.locator("main")).to_contain_text("already used")
        expect(page.locator("form[action='/account/link'] input[name=email]")).to_be_visible()

        # Ask for a fresh link, let it expire, then open it.
        page.goto(server.url + "/account/link")
        page.fill("form[action='/account/link'] input[name=email]", BUYER)
        page.click("form[action='/account/link'] button")
        expect(page.locator("main")).to_contain_text("link is on its way")
        fresh = _links_mailed(smtp_server, 2)[1]
        _expire_links(server)
        response = page.goto(fresh)
        assert response is not None and response.status == 410
        expect(page.locator("main")).to_contain_text("expired")
        expect(page.locator("form[action='/account/link']")).to_be_visible()
        assert errors == []
    finally:
        context.close()
