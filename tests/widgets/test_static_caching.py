"""/static: versioned widget bundles are kept by browsers, everything else is revalidated."""

from __future__ import annotations

import httpx

from widget_server.statics import REVALIDATED, VERSIONED


async def test_a_versioned_bundle_is_cached_for_good(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/dist/chat.js?v=0123456789")
    assert response.status_code == 200
    assert response.headers["cache-control"] == VERSIONED == "public, max-age=31536000, immutable"


async def test_unversioned_files_are_revalidated_and_unchanged_ones_answer_304(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/static/console.css", "/static/console-chat/main.js", "/static/dist/chat.js"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == REVALIDATED == "no-cache", path
    first = await client.get("/static/console.css")
    again = await client.get(
        "/static/console.css", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["cache-control"] == "no-cache"


async def test_a_missing_file_is_a_plain_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/nope.js?v=1")
    assert response.status_code == 404
    assert "cache-control" not in response.headers
