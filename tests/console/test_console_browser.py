"""The console in real Chromium: log in, add an operator with an avatar, copy the counter code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD, LiveServer, create_team, seed
from tests.console.conftest import image
from widget_server.widgets.snippet import snippet

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def screenshot_path(tmp_path: Path) -> Path:
    if os.environ.get("VITRINE_UPDATE_SCREENSHOTS") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        return ROOT / "docs" / "console.png"
    return tmp_path / "console.png"


def test_an_owner_sets_up_the_console(live_server: LiveServer, page: Any, tmp_path: Path) -> None:
    team = seed(live_server, create_team)
    base = f"{live_server.url}/console/sites/{team.site.key}"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.goto(f"{live_server.url}/console/login")
    page.fill("#email", "owner@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/code")

    page.click("nav.tabs >> text=Operators")
    page.wait_for_url(f"{base}/operators")
    page.click("text=Add operator")
    page.fill("#name", "Nina Support")
    page.fill("#email", "nina@example.com")
    page.fill("#password", "a long enough password")
    page.set_input_files(
        "#avatar",
        files=[{"name": "nina.png", "mimeType": "image/png", "buffer": image(320, 320)}],
    )
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{base}/operators")
    row = page.locator("tr", has_text="nina@example.com")
    assert "Nina Support" in row.inner_text()
    avatar = row.locator("img.avatar")
    avatar.wait_for()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=avatar.element_handle()
    )
    assert avatar.evaluate("img => img.naturalWidth") == 320
    page.screenshot(path=str(screenshot_path(tmp_path)), full_page=True)

    # The confirm on "Deactivate" is a real question: dismissing it keeps the operator.
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.locator("button", has_text="Deactivate").click()
    assert "Active" in page.locator("tr", has_text="nina@example.com").inner_text()

    page.click("nav.tabs >> text=Counter code")
    page.wait_for_url(f"{base}/code")
    expected = snippet(live_server.url, team.site.key)
    assert page.locator("#snippet").text_content() == expected
    page.click("button[data-copy='#snippet']")
    page.wait_for_selector("button[data-copy='#snippet'] >> text=Copied")
    assert page.evaluate("navigator.clipboard.readText()") == expected

    # The language menu applies the choice as soon as it changes.
    page.select_option("select#language", "fr")
    page.wait_for_selector("nav.tabs >> text=Code du compteur")
    assert page.get_attribute("html", "lang") == "fr"
