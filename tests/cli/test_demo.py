"""``vitrine demo``: the seed (idempotent) and the whole command as a real process."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import Server, cli_env, running
from tests.conftest import free_port, make_settings
from widget_server.accounts import operators
from widget_server.accounts import service as accounts
from widget_server.db import migrate
from widget_server.db.engine import create_engine
from widget_server.demo import DEMO_OFFERS, DEMO_SITE, LOGINS, seed
from widget_server.payments import offers
from widget_server.widgets.snippet import snippet


async def test_seeding_twice_keeps_one_site_and_resets_the_passwords(tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        tmp_path,
        base_url="http://127.0.0.1:8000",
        port=8000,
    )
    engine = create_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        first = await seed(engine, settings)
        owner = await accounts.user_by_email(engine, LOGINS[0].email)
        operator = await accounts.user_by_email(engine, LOGINS[2].email)
        assert owner is not None and operator is not None
        await accounts.set_password(engine, operator.id, "changed-by-someone")

        later = replace(settings, port=8123, base_url="http://127.0.0.1:8123")
        second = await seed(engine, later)

        assert second.id == first.id and second.key == first.key
        sites = await accounts.sites_for(engine, owner)
        assert [(s.name, role) for s, role in sites] == [(DEMO_SITE, "owner")]
        assert {
            "http://127.0.0.1:8000",
            "http://localhost:8000",
            "http://127.0.0.1:8123",
            "http://localhost:8123",
        } <= set(second.allowed_origins)
        access = await accounts.access_to(engine, owner, second.key)
        roles = {m.user.email: m.role for m in await operators.members(access, engine)}
        assert roles == {login.email: login.role for login in LOGINS}
        for login in LOGINS:
            user = await accounts.authenticate(engine, login.email, login.password, "127.0.0.1")
            assert user.email == login.email
        # The landing page's three plans, once, open to guests.
        sold = await offers.list_offers(engine, second.id)
        assert [o.slug for o in sold] == [slug for slug, *_ in DEMO_OFFERS]
        assert all(
            o.active and o.guest_allowed and o.methods == ["card"] and o.grants for o in sold
        )
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp_path = tmp_path_factory.mktemp("demo")
    port = free_port()
    env = cli_env(tmp_path, VITRINE_PORT=str(port))
    with running(tmp_path, "demo", env=env, port=port) as server:
        server.wait_until_healthy(timeout=30)
        yield server


def demo_site_key(server: Server) -> str:
    match = re.search(r"site key ([a-z0-9]+)\)", server.output())
    assert match, server.output()
    return match.group(1)


def test_demo_prints_the_urls_and_the_logins(demo: Server) -> None:
    output = demo.output()
    for path in ("/ ", "/console\n", "/healthz\n"):
        assert demo.url + path in output
    for login in LOGINS:
        assert re.search(rf"{login.role}\s+{re.escape(login.email)}\s+{login.password}", output)


def test_demo_serves_the_landing_page_console_and_health(demo: Server) -> None:
    key = demo_site_key(demo)
    with httpx.Client(base_url=demo.url, timeout=5) as http:
        page = http.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert snippet(demo.url, key) in page.text
        assert "<!-- vitrine:snippet -->" not in page.text
        head = page.text.split("</head>", 1)[0]
        assert snippet(demo.url, key) in head
        assert http.get("/console/login").status_code == 200
        assert http.get("/healthz").json() == {"status": "ok"}


@pytest.mark.browser
def test_demo_landing_page_works_in_a_browser(demo: Server, page: Any) -> None:
    """The landing page loads the demo site's counter without a script error.
    (The browser fixture holds an event loop while open: keep async tests above this one.)"""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with page.expect_response(lambda r: "/s/" in r.url and r.url.endswith(".js")) as script:
        page.goto(demo.url + "/")
    assert script.value.status == 200
    assert page.title().startswith("Kettle & Kiln")
    assert page.locator("[data-vitrine-buy]").count() == 3
    page.wait_for_function("() => window.vitrine && window.vitrine.l === true")
    # Buy buttons: Vitrine's own for two plans (their fallback links hidden), the page's own link
    # for the featured one; each goes to the sandbox payment page once its offer is known.
    page.wait_for_function("document.querySelectorAll('[data-vitrine-ready]').length == 3")
    assert page.locator("[data-vitrine-buy=taster] button").text_content() == (
        "Buy Taster bag · €14.00"
    )
    assert not page.locator("text=Order a taster").is_visible()
    # The demo does not count automated browsers (Playwright's Chromium is one): the order has no
    # visit; what matters here is that the page, the counter and the buy module work together.
    page.click("text=Start a subscription")
    page.wait_for_url(re.compile(r"/pay/sandbox/ord_"))
    assert errors == []


def test_demo_stops_cleanly(demo: Server) -> None:
    # Runs last in this module (pytest keeps file order): the fixture's server is done after it.
    demo.stop(signal.SIGINT)
    assert demo.process.returncode == 0, demo.output()
    assert "Traceback" not in demo.output()
