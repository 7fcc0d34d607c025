"""The console's home, the Counter code tab, the Settings tab and new sites."""

from __future__ import annotations

import httpx

from tests.conftest import PASSWORD, SiteTeam, csrf_from, log_in
from tests.console.conftest import element_text, text_of
from widget_server.accounts import service as accounts
from widget_server.runtime import Runtime
from widget_server.widgets.snippet import snippet


async def test_the_counter_code_is_the_exact_snippet(
    client: httpx.AsyncClient, team: SiteTeam, state: Runtime
) -> None:
    await log_in(client, "operator@example.com")  # every member may see it
    page = await client.get(f"/console/sites/{team.site.key}/code")
    assert page.status_code == 200
    assert element_text(page.text, "snippet") == snippet(state.settings.base_url, team.site.key)
    assert '<button type="button"' in page.text and 'data-copy="#snippet"' in page.text
    assert "&lt;/head&gt;" in page.text
    assert "https://shop.example.com" in page.text


async def test_home_goes_to_the_last_site_used(
    client: httpx.AsyncClient, team: SiteTeam, state: Runtime
) -> None:
    second = await accounts.create_site(state.engine, name="Another shop", owner=team.owner)
    await log_in(client, "owner@example.com")
    first_key = min((team.site, second), key=lambda site: site.name).key
    assert (await client.get("/console")).headers["location"] == f"/console/sites/{first_key}/code"
    other = second.key if first_key == team.site.key else team.site.key
    assert (await client.get(f"/console/sites/{other}/code")).status_code == 200
    assert (await client.get("/console")).headers["location"] == f"/console/sites/{other}/code"


async def test_someone_without_a_site_is_told_so(client: httpx.AsyncClient, state: Runtime) -> None:
    await accounts.create_user(
        state.engine, email="lone@example.com", name="Lone", password=PASSWORD
    )
    await log_in(client, "lone@example.com")
    page = await client.get("/console")
    assert page.status_code == 200
    assert "You do not work on any site yet" in text_of(page.text)
    assert 'action="/console/sites"' not in page.text
    token = csrf_from(page.text)
    refused = await client.post("/console/sites", data={"csrf_token": token, "name": "Mine"})
    assert refused.status_code == 403


async def test_staff_create_a_site_from_the_empty_console(
    client: httpx.AsyncClient, state: Runtime
) -> None:
    await accounts.create_user(
        state.engine, email="staff@example.com", name="Sam Staff", password=PASSWORD, is_staff=True
    )
    token = await log_in(client, "staff@example.com")
    page = await client.get("/console")
    assert 'action="/console/sites"' in page.text
    form = {"csrf_token": token, "time_zone": "Europe/Berlin", "default_language": "fr"}
    invalid = await client.post("/console/sites", data={**form, "name": ""})
    assert invalid.status_code == 422
    assert 'id="name-errors"' in invalid.text
    created = await client.post("/console/sites", data={**form, "name": "Boutique"})
    assert created.status_code == 303
    key = created.headers["location"].split("/")[3]
    site = await accounts.site_by_key(state.engine, key)
    assert site is not None
    assert (site.name, site.time_zone, site.default_language) == ("Boutique", "Europe/Berlin", "fr")
    code = await client.get(created.headers["location"])
    assert "The site is ready." in text_of(code.text)


async def test_settings_are_saved(
    client: httpx.AsyncClient, team: SiteTeam, state: Runtime
) -> None:
    token = await log_in(client, "admin@example.com")
    url = f"/console/sites/{team.site.key}/settings"
    page = await client.get(url)
    assert '<option value="Europe/Paris" selected>' in page.text
    response = await client.post(
        url,
        data={
            "csrf_token": token,
            "name": "Shop FR",
            "allowed_origins": "https://shop.example.com\r\nhttps://*.example.fr/\r\n\r\n",
            "time_zone": "America/Toronto",
            "default_language": "ru",
        },
    )
    assert response.status_code == 303
    assert "Settings saved." in (await client.get(url)).text
    site = await accounts.site_by_key(state.engine, team.site.key)
    assert site is not None
    assert site.name == "Shop FR"
    assert site.allowed_origins == ["https://shop.example.com", "https://*.example.fr"]
    assert (site.time_zone, site.default_language) == ("America/Toronto", "ru")


async def test_bad_settings_are_shown_and_change_nothing(
    client: httpx.AsyncClient, team: SiteTeam, state: Runtime
) -> None:
    token = await log_in(client, "owner@example.com")
    url = f"/console/sites/{team.site.key}/settings"
    good = {
        "csrf_token": token,
        "name": "Renamed",
        "allowed_origins": "https://shop.example.com",
        "time_zone": "Europe/Paris",
        "default_language": "en",
    }
    cases = [
        ("allowed_origins", "ftp://x/y", "'ftp://x/y' is not an origin"),
        ("time_zone", "Mars/Olympus_Mons", "Unknown time zone 'Mars/Olympus_Mons'"),
    ]
    for field, value, message in cases:
        response = await client.post(url, data={**good, field: value})
        assert response.status_code == 422
        assert message in text_of(response.text)
        assert f'id="{field}-errors"' in response.text
        assert 'value="Renamed"' in response.text  # what was typed stays in the form
        site = await accounts.site_by_key(state.engine, team.site.key)
        assert site == team.site
