"""Every console POST route refuses a form without the session's CSRF token.

The routes are read from the route lists, so a route added later is covered without editing here.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from starlette.routing import Route

from tests.conftest import SiteTeam, csrf_from, log_in
from tests.console.conftest import text_of
from widget_server.console.routes import routes as console_routes
from widget_server.outbox.routes import routes as outbox_routes

POST_PATHS = sorted(
    route.path
    for route in [*console_routes, *outbox_routes]
    if isinstance(route, Route) and route.methods and "POST" in route.methods
)
_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


def concrete(path: str, site_key: str) -> str:
    def value(match: re.Match[str]) -> str:
        name, convertor = match.group(1), match.group(2)
        if name == "site_key":
            return site_key
        if convertor == "uuid":
            return str(uuid.uuid4())
        return "1"

    return _PARAM.sub(value, path)


def test_the_console_has_post_routes_to_check() -> None:
    for expected in ("/console/login", "/console/logout", "/console/language"):
        assert expected in POST_PATHS
    assert any("/operators" in path for path in POST_PATHS)


@pytest.mark.parametrize("path", POST_PATHS)
async def test_a_post_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, team: SiteTeam, path: str
) -> None:
    token = await log_in(client, "owner@example.com")
    url = concrete(path, team.site.key)
    missing = await client.post(url, data={"name": "x", "email": "x@example.com"})
    assert missing.status_code == 403, missing.text
    assert missing.json()["error"]["code"] == "csrf_failed"
    wrong = await client.post(url, data={"csrf_token": token[::-1]})
    assert wrong.status_code == 403, wrong.text
    # Still logged in: the refusal changed nothing.
    assert (await client.get(f"/console/sites/{team.site.key}/code")).status_code == 200


async def test_a_refused_form_is_explained_on_a_page(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    page = await client.get("/console/login")
    assert csrf_from(page.text)
    response = await client.post(
        "/console/login",
        data={"email": "owner@example.com", "password": "x"},
        headers={"accept": "text/html"},
    )
    assert response.status_code == 403
    assert "The form has expired or did not come from this site." in text_of(response.text)
