"""The site's sections in real Chromium: a grouped sidebar for admins on wide screens, a strip
that keeps the current section in view on narrow ones, and two links for operators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, LiveServer, create_team, seed

pytestmark = pytest.mark.browser


def log_in(page: Any, live_server: LiveServer, email: str) -> None:
    page.goto(f"{live_server.url}/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/sites/**")


def box(page: Any, selector: str) -> dict[str, float]:
    result: dict[str, float] = page.locator(selector).first.bounding_box()
    return result


def test_admins_get_the_sections_grouped_beside_the_page(
    live_server: LiveServer, page: Any, tmp_path: Path
) -> None:
    team = seed(live_server, create_team)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server, "owner@example.com")
    page.goto(f"{live_server.url}/console/sites/{team.site.key}/webhooks")
    # Nothing the pages ask for is missing (the browser's favicon request included).
    page.wait_for_load_state("networkidle")
    assert failed == []

    headings = page.locator("nav.tabs .tabs-heading")
    assert headings.all_inner_texts() == [
        "REPORTS",
        "CONVERSATIONS",
        "SALES",
        "SETUP",
        "DEVELOPERS",
    ]
    group = page.locator("nav.tabs [role=group]", has=page.locator("a[aria-current=page]"))
    assert group.get_attribute("aria-labelledby") == headings.nth(4).get_attribute("id")
    assert page.locator("nav.tabs a[aria-current=page]").inner_text() == "Webhooks"
    assert page.locator("nav.tabs a").count() == 12

    # A column on the left, the page to its right, both starting under the title.
    nav, main = box(page, "nav.tabs"), box(page, "main")
    assert nav["x"] + nav["width"] <= main["x"]
    assert abs(nav["y"] - main["y"]) < 2
    links = page.locator("nav.tabs a")
    first, second = links.nth(0).bounding_box(), links.nth(1).bounding_box()
    assert second["y"] > first["y"] and second["x"] == first["x"]
    page.screenshot(path=str(tmp_path / "nav-wide.png"))

    # The chats page needs its width: the sections go back to a strip above it.
    page.click("nav.tabs >> text=Chats")
    page.wait_for_url("**/chats")
    strip = page.locator("nav.tabs a")
    assert strip.nth(1).bounding_box()["y"] == strip.nth(0).bounding_box()["y"]
    # The group names are still there for screen readers, but take no room.
    assert box(page, "nav.tabs .tabs-heading")["width"] <= 1


def test_on_a_phone_the_strip_scrolls_to_the_current_section(
    live_server: LiveServer, page: Any, tmp_path: Path
) -> None:
    team = seed(live_server, create_team)
    page.set_viewport_size({"width": 390, "height": 780})
    log_in(page, live_server, "owner@example.com")
    page.goto(f"{live_server.url}/console/sites/{team.site.key}/outbox")

    nav = page.locator("nav.tabs")
    assert nav.evaluate("n => n.scrollWidth > n.clientWidth")
    assert nav.evaluate("n => n.scrollLeft") > 0
    current, strip = box(page, "nav.tabs a[aria-current=page]"), box(page, "nav.tabs")
    assert strip["x"] <= current["x"]
    assert current["x"] + current["width"] <= strip["x"] + strip["width"] + 1
    # The page itself does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "nav-phone.png"))


def test_operators_see_their_two_sections_in_a_strip(live_server: LiveServer, page: Any) -> None:
    team = seed(live_server, create_team)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server, "operator@example.com")
    page.goto(f"{live_server.url}/console/sites/{team.site.key}/code")

    assert page.locator("nav.tabs a").all_inner_texts() == ["Chats", "Counter code"]
    assert page.locator("nav.tabs .tabs-heading").count() == 0
    links = page.locator("nav.tabs a")
    assert links.nth(0).bounding_box()["y"] == links.nth(1).bounding_box()["y"]
