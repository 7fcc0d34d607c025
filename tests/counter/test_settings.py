"""Counter settings: the service's rules and the console's Counter tab."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import SiteTeam, log_in
from tests.counter.conftest import ORIGIN
from widget_server.counter import service
from widget_server.counter.service import CounterSettings
from widget_server.errors import Forbidden, InvalidRequest
from widget_server.runtime import Runtime


def page_url(team: SiteTeam) -> str:
    return f"/console/sites/{team.site.key}/counter"


async def test_defaults_until_the_first_save(state: Runtime, team: SiteTeam) -> None:
    assert await service.settings_of(state.engine, team.site.id) == CounterSettings()
    saved = await service.update_settings(
        team.access("admin"),
        state.engine,
        honour_dnt=True,
        excluded_ips=[" 203.0.113.7 ", "", "10.1.2.3/8", "2001:db8::/32", "203.0.113.7"],
        goals=["Signup", " Order paid ", "Signup", ""],
    )
    assert saved.honour_dnt and not saved.require_consent
    assert saved.excluded_ips == ("203.0.113.7", "10.0.0.0/8", "2001:db8::/32")
    assert saved.goals == ("Signup", "Order paid")
    assert await service.settings_of(state.engine, team.site.id) == saved
    again = await service.update_settings(team.access(), state.engine, allow_bots=True)
    assert again == CounterSettings(
        honour_dnt=True,
        allow_bots=True,
        excluded_ips=saved.excluded_ips,
        goals=saved.goals,
    )


async def test_only_admins_change_settings(state: Runtime, team: SiteTeam) -> None:
    with pytest.raises(Forbidden):
        await service.update_settings(team.access("operator"), state.engine, honour_dnt=True)
    assert await service.settings_of(state.engine, team.site.id) == CounterSettings()


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"excluded_ips": ["300.1.1.1", "10.0.0.0/33", "fine"]}, {"excluded_ips"}),
        ({"excluded_ips": [f"10.0.0.{i}" for i in range(101)]}, {"excluded_ips"}),
        ({"goals": ["x" * 121]}, {"goals"}),
        ({"goals": [f"goal {i}" for i in range(51)]}, {"goals"}),
        ({"honour_dnt": "yes", "goals": ["x" * 121]}, {"honour_dnt", "goals"}),
    ],
)
async def test_bad_values_are_refused_with_details(
    state: Runtime, team: SiteTeam, fields: dict[str, object], named: set[str]
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await service.update_settings(team.access(), state.engine, **fields)  # type: ignore[arg-type]
    assert {detail["field"] for detail in refused.value.details} == named
    assert await service.settings_of(state.engine, team.site.id) == CounterSettings()


async def test_fifty_goals_are_fine(state: Runtime, team: SiteTeam) -> None:
    goals = [f"goal {i}" + "x" * 100 for i in range(50)]
    saved = await service.update_settings(team.access(), state.engine, goals=goals)
    assert len(saved.goals) == 50


async def test_the_page_shows_settings_and_exclusion_links(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    await service.update_settings(team.access(), state.engine, track_outbound=True, goals=["Buy"])
    await log_in(client, team.admin.email)
    page = await client.get(page_url(team))
    assert page.status_code == 200
    assert 'aria-current="page">Counter<' in page.text
    assert 'name="track_outbound" type="checkbox" value="1" checked' in page.text
    assert 'name="honour_dnt" type="checkbox" value="1" aria' in page.text
    assert ">Buy</textarea>" in page.text
    assert f'href="{ORIGIN}/?vitrine_ignore=1"' in page.text
    assert f'href="{ORIGIN}/?vitrine_ignore=0"' in page.text


async def test_saving_the_form(client: httpx.AsyncClient, state: Runtime, team: SiteTeam) -> None:
    token = await log_in(client, team.owner.email)
    response = await client.post(
        page_url(team),
        data={
            "csrf_token": token,
            "require_consent": "1",
            "hash_routing": "1",
            "excluded_ips": "203.0.113.0/24\r\n198.51.100.9",
            "goals": "Signup\r\nOrder paid",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == page_url(team)
    assert await service.settings_of(state.engine, team.site.id) == CounterSettings(
        require_consent=True,
        hash_routing=True,
        excluded_ips=("203.0.113.0/24", "198.51.100.9"),
        goals=("Signup", "Order paid"),
    )
    after = await client.get(page_url(team))
    assert "Counter settings saved." in after.text
    config = await client.get(f"/s/{team.site.key}.js")
    assert '"c":1' in config.text and '"h":1' in config.text


async def test_errors_are_shown_and_nothing_saved(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    token = await log_in(client, team.owner.email)
    response = await client.post(
        page_url(team),
        data={"csrf_token": token, "honour_dnt": "1", "excluded_ips": "10.0.0.1\nlocalhost"},
    )
    assert response.status_code == 422
    assert "Not an IP address or CIDR block: localhost." in response.text
    assert 'name="excluded_ips" rows="4" spellcheck="false" aria-invalid="true"' in response.text
    assert "10.0.0.1\nlocalhost</textarea>" in response.text  # what was typed stays
    assert 'name="honour_dnt" type="checkbox" value="1" checked' in response.text
    assert await service.settings_of(state.engine, team.site.id) == CounterSettings()


async def test_operators_get_403(client: httpx.AsyncClient, state: Runtime, team: SiteTeam) -> None:
    token = await log_in(client, team.operator.email)
    assert (await client.get(page_url(team))).status_code == 403
    posted = await client.post(page_url(team), data={"csrf_token": token, "honour_dnt": "1"})
    assert posted.status_code == 403
    assert await service.settings_of(state.engine, team.site.id) == CounterSettings()


async def test_a_form_without_its_csrf_token_is_refused(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    await log_in(client, team.owner.email)
    for data in ({"honour_dnt": "1"}, {"honour_dnt": "1", "csrf_token": "forged"}):
        response = await client.post(page_url(team), data=data)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "csrf_failed"
    assert await service.settings_of(state.engine, team.site.id) == CounterSettings()


async def test_not_logged_in_goes_to_the_login_page(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    response = await client.get(page_url(team), headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login")
