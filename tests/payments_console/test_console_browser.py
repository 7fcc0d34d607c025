"""Offers and orders in real Chromium: an admin creates an offer, a sandbox payment without an
e-mail is flagged, the admin gives its access by hand, revokes it and refunds part of it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD, LiveServer, create_team, seed

pytestmark = pytest.mark.browser


def test_an_admin_sells_gives_access_revokes_and_refunds(
    live_server: LiveServer, page: Any
) -> None:
    team = seed(live_server, create_team)
    base = f"{live_server.url}/console/sites/{team.site.key}"
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"{live_server.url}/console/login?next=/console/sites/{team.site.key}/offers")
    page.fill("#email", "admin@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/offers")
    page.click("text=New offer")
    page.fill("#name", "Yoga course")
    page.fill("#slug", "yoga")
    page.fill("#amount", "19.90")
    page.select_option("#grant_kind", "url")
    page.fill("#grant_value", "https://example.com/yoga")
    page.click("text=Create offer")
    page.wait_for_url(f"{base}/offers")
    assert "19.90\u00a0EUR" in page.locator("tr[data-offer=yoga]").inner_text()

    # A buyer pays in the sandbox, and the payment reports no e-mail.
    page.goto(f"{live_server.url}/pay/{team.site.key}/yoga")
    page.click("button[value=pay]")
    page.wait_for_selector("[data-result=success]")

    page.goto(f"{base}/orders")
    row = page.locator("tbody tr").first
    assert "Needs manual access" in row.inner_text()
    row.locator("a").click()
    page.fill("#grant-email", "buyer@example.com")
    page.click("text=Give access")
    page.wait_for_selector("text=Access given to buyer@example.com")
    assert "Active" in page.locator("tr[data-grant]").inner_text()

    page.click("tr[data-grant] >> text=Revoke")
    page.wait_for_selector("text=Access revoked.")
    assert "Revoked" in page.locator("tr[data-grant]").inner_text()

    page.fill("#refund-amount", "5")
    page.click("#refund-form button[type=submit]")
    page.wait_for_selector(".flash >> text=Refunded 5.00\u00a0EUR.")
    assert "Refunded 5.00\u00a0EUR." in page.locator("#timeline li").last.inner_text()
    assert "Partially refunded" in page.locator("main h1").inner_text()
