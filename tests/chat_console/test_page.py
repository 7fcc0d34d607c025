"""The Chats page over HTTP: who may open it, /console/chats, the console's
Content-Security-Policy, and the page's script modules."""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin

import httpx
import pytest

from tests.conftest import PASSWORD, SiteTeam, create_team, log_in
from widget_server.accounts import operators
from widget_server.accounts import service as accounts
from widget_server.app import STATIC_DIR
from widget_server.middleware import console_policy
from widget_server.runtime import Runtime
from widget_server.widgets import service as widgets

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self' ws://testserver wss://testserver; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def chats(team: SiteTeam) -> str:
    return f"/console/sites/{team.site.key}/chats"


def page_config(html: str) -> dict[str, object]:
    match = re.search(
        r'<script type="application/json" id="chat-config">(.*?)</script>', html, re.S
    )
    assert match, "no chat config on the page"
    config: dict[str, object] = json.loads(match.group(1))
    return config


@pytest.mark.parametrize("who", ["owner", "admin", "operator"])
async def test_every_member_opens_the_page(
    client: httpx.AsyncClient, team: SiteTeam, who: str
) -> None:
    await log_in(client, getattr(team, who).email)
    page = await client.get(chats(team))
    assert page.status_code == 200
    assert 'aria-current="page">Chats</a>' in page.text
    config = page_config(page.text)
    user = getattr(team, who)
    assert config["site"] == team.site.key
    assert config["me"] == {"id": user.id, "name": user.name, "admin": who != "operator"}
    assert '<script type="module" src="/static/console-chat/main.js"></script>' in page.text
    # Only admins get the "All" tab and the assign select (with every active member in it).
    admin_parts = ['data-tab="all"', 'id="chat-assign"']
    for part in admin_parts:
        assert (part in page.text) is (who != "operator")
    if who != "operator":
        names = {person["name"] for person in config["operators"]}  # type: ignore[attr-defined]
        assert names == {"Olivia Owner", "Adam Admin", "Oscar Operator"}
    else:
        assert config["operators"] == []


async def test_names_cannot_break_out_of_the_config_block(
    client: httpx.AsyncClient, team: SiteTeam, state: Runtime
) -> None:
    hostile = "</script><script>window.pwned=1</script>"
    await operators.add_operator(
        team.access("owner"),
        state.engine,
        email="hostile@example.com",
        name=hostile,
        password=PASSWORD,
        role="operator",
        avatar=None,
    )
    await log_in(client, team.admin.email)
    page = await client.get(chats(team))
    assert "<script>window.pwned" not in page.text
    config = page_config(page.text)
    assert hostile in {person["name"] for person in config["operators"]}  # type: ignore[attr-defined]
    texts = config["texts"]
    assert isinstance(texts, dict) and texts["note"] == "Private note"


async def test_a_stranger_gets_not_found(
    client: httpx.AsyncClient, team: SiteTeam, state: Runtime
) -> None:
    other = await create_team(state, prefix="other-")
    await log_in(client, other.operator.email)
    response = await client.get(chats(team), headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "Content-Security-Policy" in response.headers  # error pages are console pages too


async def test_logged_out_people_are_sent_to_log_in(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    response = await client.get(chats(team), headers={"Accept": "text/html"})
    assert response.status_code in (302, 303)
    assert "/console/login" in response.headers["location"]


async def test_console_chats_goes_to_the_site_used_last(
    client: httpx.AsyncClient, team: SiteTeam, state: Runtime
) -> None:
    second = await accounts.create_site(state.engine, name="Zebra shop", owner=team.owner)
    await log_in(client, team.owner.email)  # lands on the first site ("Shop")
    response = await client.get("/console/chats")
    assert response.status_code == 303
    assert response.headers["location"] == chats(team)
    assert (await client.get(f"/console/sites/{second.key}/code")).status_code == 200
    response = await client.get("/console/chats")
    assert response.headers["location"] == f"/console/sites/{second.key}/chats"


async def test_console_chats_without_a_site_goes_home(
    client: httpx.AsyncClient, state: Runtime
) -> None:
    await accounts.create_user(
        state.engine, email="lone@example.com", name="Lone", password=PASSWORD
    )
    await log_in(client, "lone@example.com")
    response = await client.get("/console/chats")
    assert response.status_code == 303
    assert response.headers["location"] == "/console"


@pytest.mark.parametrize("path", ["/console/login", "CHATS", "/console/sites/KEY/code"])
async def test_console_pages_carry_the_policy(
    client: httpx.AsyncClient, team: SiteTeam, path: str
) -> None:
    if path != "/console/login":
        await log_in(client, team.owner.email)
    path = path.replace("CHATS", chats(team)).replace("KEY", team.site.key)
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == POLICY
    assert response.headers["X-Frame-Options"] == "DENY"


async def test_other_answers_keep_their_own_headers(client: httpx.AsyncClient) -> None:
    assert "Content-Security-Policy" not in (await client.get("/healthz")).headers
    script = await client.get("/static/console-chat/main.js")
    assert script.status_code == 200
    assert "Content-Security-Policy" not in script.headers


SCRIPTS = STATIC_DIR / "console-chat"
# `import … from "./x.js"` and `import "./x.js"`: how the page's modules name each other.
IMPORT = re.compile(r'^import\s+(?:[^"\']*?\s+from\s+)?["\']([^"\']+)["\'];?\s*$', re.M)


async def test_every_module_of_the_page_is_served_as_javascript(client: httpx.AsyncClient) -> None:
    # A module script only runs if every module it imports, transitively, loads with a JavaScript
    # type: one missing file or a wrong type and the whole page is dead.
    entry = "/static/console-chat/main.js"
    seen: set[str] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        response = await client.get(path)
        assert response.status_code == 200, path
        media_type = response.headers["content-type"].split(";")[0].strip()
        assert media_type in {"text/javascript", "application/javascript"}, (path, media_type)
        for target in IMPORT.findall(response.text):
            assert target.startswith("./"), (path, target)  # same origin, no bare specifiers
            todo.append(urljoin(path, target))
    # ... and no file of the folder is left out of the page.
    assert seen == {f"/static/console-chat/{file.name}" for file in SCRIPTS.glob("*.js")}


def test_the_socket_host_comes_from_the_base_url() -> None:
    policy = console_policy("https://chat.example.com:8443")
    assert "connect-src 'self' ws://chat.example.com:8443 wss://chat.example.com:8443;" in policy


@pytest.mark.parametrize("who", ["admin", "operator"])
async def test_the_page_says_when_the_chat_is_off(
    client: httpx.AsyncClient, team: SiteTeam, state: Runtime, who: str
) -> None:
    await log_in(client, getattr(team, who).email)
    off = await client.get(chats(team))
    assert "The chat is off on this site." in off.text
    link = f'href="/console/sites/{team.site.key}/widgets"'
    assert (link in off.text.split('id="chat-config"')[1]) is (who == "admin")
    await widgets.enable_chat(team.access("owner"), state.engine)
    on = await client.get(chats(team))
    assert "The chat is off on this site." not in on.text
