"""The API keys tab: a secret shown once, usable against the API, refused once revoked."""

from __future__ import annotations

import re

import httpx

from tests.conftest import SiteTeam, log_in
from tests.console.conftest import element_text, row_with, text_of


async def test_a_new_key_is_shown_once_works_and_stops_when_revoked(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    token = await log_in(client, "owner@example.com")
    url = f"/console/sites/{team.site.key}/api-keys"
    created = await client.post(url, data={"csrf_token": token, "name": "Shop backend"})
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    secret = element_text(created.text, "new-secret")
    assert re.fullmatch(r"vk_[A-Za-z0-9_-]{40,}", secret)
    assert 'data-copy="#new-secret"' in created.text
    assert "it will not be shown again" in text_of(created.text)
    assert secret not in created.headers.get("location", "")

    listing = await client.get(url)
    assert secret not in listing.text
    row = row_with(listing.text, "Shop backend")
    assert f"{secret[:10]}…" in row
    assert "Never" in row

    api = await client.get("/api/v2/site", headers={"authorization": f"Bearer {secret}"})
    assert api.status_code == 200
    assert api.json()["key"] == team.site.key
    assert "Never" not in row_with((await client.get(url)).text, "Shop backend")

    revoke = re.search(r'action="([^"]+/revoke)"', row)
    assert revoke, "no revoke button"
    assert "data-confirm=" in row
    response = await client.post(revoke.group(1), data={"csrf_token": token})
    assert response.status_code == 303
    assert "Revoked" in row_with((await client.get(url)).text, "Shop backend")

    refused = await client.get("/api/v2/site", headers={"authorization": f"Bearer {secret}"})
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["status"] == 401
    assert error["code"] == "unauthorized"
    assert error["message"] == "The secret key is unknown or has been revoked."
    assert error["details"] == []


async def test_a_key_needs_a_name(client: httpx.AsyncClient, team: SiteTeam) -> None:
    token = await log_in(client, "admin@example.com")
    url = f"/console/sites/{team.site.key}/api-keys"
    response = await client.post(url, data={"csrf_token": token, "name": "  "})
    assert response.status_code == 422
    assert 'id="name-errors"' in response.text
    assert "vk_" not in response.text
    assert "No API key yet." in text_of(response.text)
