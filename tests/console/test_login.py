"""Logging in and out of the console through the real form, and the session cookie."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, SiteTeam, create_team, csrf_from, log_in, make_settings
from tests.console.conftest import ClientFactory, text_of
from widget_server.app import create_app


async def post_login(
    http: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    page = await http.get("/console/login")
    form = {"email": email, "password": password, "csrf_token": csrf_from(page.text), **extra}
    return await http.post("/console/login", data=form)


async def test_login_with_the_right_password_opens_the_console(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    response = await post_login(client, "owner@example.com")
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    home = await client.get("/console")
    assert home.status_code == 303
    assert home.headers["location"] == f"/console/sites/{team.site.key}/code"
    page = await client.get(home.headers["location"])
    assert page.status_code == 200
    assert "Olivia Owner" in page.text


@pytest.mark.parametrize(
    ("email", "password"),
    [("owner@example.com", "not the password"), ("nobody@example.com", PASSWORD)],
    ids=["wrong-password", "unknown-email"],
)
async def test_wrong_credentials_show_the_form_again(
    client: httpx.AsyncClient, team: SiteTeam, email: str, password: str
) -> None:
    response = await post_login(client, email, password)
    assert response.status_code == 401
    assert "Wrong e-mail or password." in text_of(response.text)
    assert f'value="{email}"' in response.text  # the e-mail typed is kept ...
    assert password not in response.text  # ... the password never
    assert (await client.get("/console")).status_code == 401  # still logged out


async def test_logout_ends_the_session(client: httpx.AsyncClient, team: SiteTeam) -> None:
    token = await log_in(client, "owner@example.com")
    response = await client.post("/console/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"
    assert "You have logged out." in (await client.get("/console/login")).text
    assert (await client.get(f"/console/sites/{team.site.key}/code")).status_code == 401


async def test_a_page_that_needs_a_login_comes_back_after_it(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    target = f"/console/sites/{team.site.key}/settings"
    bounce = await client.get(target, headers={"accept": "text/html"})
    assert bounce.status_code == 303
    login_page = await client.get(bounce.headers["location"])
    assert f'name="next" value="{target}"' in login_page.text
    response = await client.post(
        "/console/login",
        data={
            "email": "owner@example.com",
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_from(login_page.text),
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == target


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/console", "//evil.example/console", "/\\evil.example", "console"],
)
async def test_a_next_that_leaves_the_site_is_ignored(
    client: httpx.AsyncClient, team: SiteTeam, target: str
) -> None:
    page = await client.get("/console/login", params={"next": target})
    assert 'name="next"' not in page.text
    response = await post_login(client, "owner@example.com", next=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/console"


async def test_the_eleventh_failure_is_refused_even_with_the_right_password(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    for _attempt in range(10):
        assert (await post_login(client, "admin@example.com", "wrong password")).status_code == 401
    response = await post_login(client, "admin@example.com", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed log-in attempts. Try again in 15 minutes." in text_of(response.text)
    assert int(response.headers["retry-after"]) == 15 * 60
    # Other accounts are not locked by it.
    assert (await post_login(client, "operator@example.com")).status_code == 303


async def test_a_deactivated_member_no_longer_sees_the_site(
    client: httpx.AsyncClient, new_client: ClientFactory, team: SiteTeam
) -> None:
    operator = new_client()
    await log_in(operator, "operator@example.com")
    code_page = f"/console/sites/{team.site.key}/code"
    assert (await operator.get(code_page)).status_code == 200

    token = await log_in(client, "owner@example.com")
    response = await client.post(
        f"/console/sites/{team.site.key}/operators/{team.operator.id}/deactivate",
        data={"csrf_token": token},
    )
    assert response.status_code == 303
    assert (await operator.get(code_page)).status_code == 404
    home = await operator.get("/console")
    assert home.status_code == 200
    assert "You do not work on any site yet" in text_of(home.text)

    await client.post(
        f"/console/sites/{team.site.key}/operators/{team.operator.id}/reactivate",
        data={"csrf_token": token},
    )
    assert (await operator.get(code_page)).status_code == 200


async def test_the_session_cookie_is_httponly_and_samesite(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    response = await post_login(client, "owner@example.com")
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("vitrine_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # http://testserver: a Secure cookie would never come back


async def test_the_session_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'https.db'}",
        tmp_path,
        base_url="https://vitrine.example",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await create_team(app.state.runtime)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url="https://vitrine.example"
        ) as http:
            response = await post_login(http, "owner@example.com")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("vitrine_session=")
    assert "; secure" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


async def test_pages_name_their_icon_so_browsers_do_not_ask_for_a_missing_favicon(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/console/login")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
    icon = await client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
