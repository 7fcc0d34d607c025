"""Pages served at ``/`` with the configured site's counter code in place of the placeholder."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import make_settings
from widget_server.app import create_app
from widget_server.demo import EXAMPLE_LANDING
from widget_server.landing import PLACEHOLDER
from widget_server.settings import Settings
from widget_server.widgets.snippet import snippet

SITE_KEY = "k3x9mz2qpw7a"
PAGE = f"<!doctype html><html><head><title>Shop</title>{PLACEHOLDER}</head><body>Hi</body></html>"


@pytest.fixture
def landing_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    (folder / "about").mkdir(parents=True)
    (folder / "index.html").write_text(PAGE)
    (folder / "about" / "index.html").write_text(PAGE.replace("Hi", "About us"))
    (folder / "style.css").write_text(f"/* {PLACEHOLDER} */ body {{ color: black }}")
    return folder


@pytest.fixture
def settings(database_url: str, tmp_path: Path, landing_dir: Path) -> Settings:
    return make_settings(database_url, tmp_path, landing_dir=landing_dir, landing_site=SITE_KEY)


async def test_pages_carry_the_site_snippet(client: httpx.AsyncClient) -> None:
    expected = snippet("http://testserver", SITE_KEY)
    for path in ("/", "/index.html", "/about/"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert f"<title>Shop</title>{expected}</head>" in response.text, path
        assert PLACEHOLDER not in response.text


async def test_other_files_are_served_as_they_are(client: httpx.AsyncClient) -> None:
    response = await client.get("/style.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert PLACEHOLDER in response.text


async def test_a_page_is_not_sent_again_when_unchanged(client: httpx.AsyncClient) -> None:
    first = await client.get("/")
    again = await client.get("/", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    stale = await client.get("/", headers={"if-none-match": '"something-else"'})
    assert stale.status_code == 200


async def test_the_service_routes_still_win_and_unknown_paths_are_404(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/nothing-here.html")).status_code == 404
    assert (await client.get("/../pyproject.toml")).status_code == 404
    assert (await client.post("/")).status_code == 405


async def test_without_a_site_the_placeholder_stays(
    database_url: str, tmp_path: Path, landing_dir: Path
) -> None:
    app = create_app(make_settings(database_url, tmp_path, landing_dir=landing_dir))
    async with _client(app) as http:
        response = await http.get("/")
    assert response.text == PAGE


@asynccontextmanager
async def _client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def test_the_example_page_has_the_placeholder_in_head_and_loads_nothing_remote() -> None:
    page = (EXAMPLE_LANDING / "index.html").read_text()
    head = page.split("</head>", 1)[0]
    assert head.count(PLACEHOLDER) == 1 and page.count(PLACEHOLDER) == 1
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    assert not re.search(r"@import", page)
    assert len(re.findall(r"data-vitrine-buy=\"[a-z-]+\"", page)) == 3
