"""GET /s/{site_key}.js: the site's config baked in, precompressed, cached by ETag."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import anyio
import brotli
import httpx
import pytest

from tests.conftest import SiteTeam
from tests.counter.conftest import STAND_IN, baked_config
from widget_server.counter import service
from widget_server.payments import buy
from widget_server.runtime import Runtime

JAVASCRIPT = "application/javascript; charset=utf-8"


def url(team: SiteTeam) -> str:
    return f"/s/{team.site.key}.js"


async def test_the_config_is_baked_in(client: httpx.AsyncClient, team: SiteTeam) -> None:
    response = await client.get(url(team), headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"] == JAVASCRIPT
    assert response.headers["cache-control"] == "public, max-age=300"
    assert "content-encoding" not in response.headers
    assert "__VITRINE_CONFIG__" not in response.text
    assert "a stand-in for counter.js" in response.text
    assert baked_config(response.text) == {
        "k": team.site.key,
        "e": f"http://testserver/t/{team.site.key}",
        "n": 0,
        "c": 0,
        "o": 0,
        "d": 0,
        "h": 0,
        "b": 0,
        "m": [],
        "y": buy.module_url("http://testserver"),
    }
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("br;q=1.0, gzip;q=0.8", "br"),
        ("gzip, deflate", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("identity", None),
        ("", None),
    ],
)
async def test_encoding_follows_accept_encoding(
    client: httpx.AsyncClient, team: SiteTeam, accept: str, encoding: str | None
) -> None:
    # A raw stream: httpx would otherwise decode the body for us.
    request = client.build_request("GET", url(team), headers={"Accept-Encoding": accept})
    response = await client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers.get("content-encoding") == encoding
    assert int(response.headers["content-length"]) == len(raw)
    plain = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding](raw)
    assert baked_config(plain.decode())["k"] == team.site.key


async def test_etag_and_304(client: httpx.AsyncClient, team: SiteTeam) -> None:
    first = await client.get(url(team))
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = await client.get(url(team), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["vary"] == "Accept-Encoding"
    listed = await client.get(url(team), headers={"If-None-Match": f'"other", W/{etag}'})
    assert listed.status_code == 304
    stale = await client.get(url(team), headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200


async def test_a_settings_change_gives_a_new_etag(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    before = await client.get(url(team))
    await service.update_settings(
        team.access(), state.engine, require_consent=True, honour_dnt=True, hash_routing=True
    )
    after = await client.get(url(team), headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    config = baked_config(after.text)
    assert (config["c"], config["n"], config["h"], config["o"]) == (1, 1, 1, 0)


async def test_the_same_config_is_compressed_once(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    await client.get(url(team))
    compiled = dict(state.counter.scripts._compiled)
    await client.get(url(team))
    assert state.counter.scripts._compiled == compiled
    assert len(compiled) == 1


async def test_unknown_site_is_a_harmless_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/s/nosuchsite.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == JAVASCRIPT
    assert response.text == "/* unknown site */"


async def test_a_missing_build_is_a_503_in_javascript(
    client: httpx.AsyncClient,
    state: Runtime,
    team: SiteTeam,
    stand_in_script: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await anyio.Path(stand_in_script).unlink()
    with caplog.at_level(logging.ERROR):
        response = await client.get(url(team))
    assert response.status_code == 503
    assert response.headers["content-type"] == JAVASCRIPT
    assert response.text.startswith("/*") and response.text.endswith("*/")
    assert "counter script unavailable" in caplog.text
    await anyio.Path(stand_in_script).write_text(STAND_IN.replace("stand-in", "rebuilt"))
    assert "a rebuilt for counter.js" in (await client.get(url(team))).text


async def test_a_build_without_the_placeholder_is_refused(
    client: httpx.AsyncClient, team: SiteTeam, stand_in_script: Path
) -> None:
    await anyio.Path(stand_in_script).write_text("/* no placeholder */")
    assert (await client.get(url(team))).status_code == 503
