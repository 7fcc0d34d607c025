"""The Multiwidget tab: the settings form, the identity secret, admins only, CSRF."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import SiteTeam, csrf_from, log_in
from widget_server.runtime import Runtime
from widget_server.widgets import service


def page_url(team: SiteTeam) -> str:
    return f"/console/sites/{team.site.key}/widgets"


def form(token: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "csrf_token": token,
        "default_language": "en",
        "use_browser_language": "1",
        "color": "#1f6feb",
        "position": "right",
        "offline_mode": "form",
        "prechat_name": "optional",
        "prechat_email": "optional",
        "prechat_phone": "off",
        "hours_mon": "09:00-18:00",
    }
    values.update(fields)
    return {name: value for name, value in values.items() if value is not None}


async def test_admins_see_the_tab_with_built_in_texts(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    await log_in(client, team.admin.email)
    page = await client.get(page_url(team))
    assert page.status_code == 200, page.text
    assert 'aria-current="page">Multiwidget<' in page.text
    assert "logged in to the console with their usual account" in page.text
    assert 'placeholder="Hello! How can we help you?"' in page.text
    assert 'placeholder="Здравствуйте! Чем мы можем помочь?"' in page.text
    assert 'name="hours_mon" type="text" value="09:00–18:00"' in page.text
    assert "The secret is made when you first save these settings." in page.text


async def test_operators_cannot_open_or_post_the_tab(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    token = await log_in(client, team.operator.email)
    assert (await client.get(page_url(team))).status_code == 403
    answer = await client.post(page_url(team), data=form(token, chat_enabled="1"))
    assert answer.status_code == 403
    assert not (await service.widget_settings(state.engine, team.site.id)).chat_enabled


async def test_a_post_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    await log_in(client, team.owner.email)
    answer = await client.post(page_url(team), data=form("wrong", chat_enabled="1"))
    assert answer.status_code == 403
    missing = await client.post(page_url(team), data={"chat_enabled": "1"})
    assert missing.status_code == 403
    assert not (await service.widget_settings(state.engine, team.site.id)).chat_enabled


async def test_saving_the_form(client: httpx.AsyncClient, state: Runtime, team: SiteTeam) -> None:
    token = await log_in(client, team.owner.email)
    answer = await client.post(
        page_url(team),
        data=form(
            token,
            chat_enabled="1",
            always_open=None,
            auto_assign="1",
            default_language="ru",
            use_browser_language=None,
            color="#AA3300",
            position="left",
            offline_mode="hide",
            prechat_name="required",
            prechat_phone="optional",
            hours_mon="9:00 – 13:00, 14:00-18:00",
            hours_sat="10:00-24:00",
            text_fr_title="Parlons-en",
            text_ru_greeting="  Добрый день!  ",
            identity_required="1",
        ),
    )
    assert answer.status_code == 303, answer.text
    saved = await service.widget_settings(state.engine, team.site.id)
    assert saved.chat_enabled and saved.auto_assign and saved.identity_required
    assert not saved.always_open and not saved.use_browser_language
    assert (saved.default_language, saved.color, saved.position) == ("ru", "#aa3300", "left")
    assert saved.offline_mode == "hide"
    assert saved.prechat == {"name": "required", "email": "optional", "phone": "optional"}
    assert saved.hours["mon"] == [["09:00", "13:00"], ["14:00", "18:00"]]
    assert saved.hours["sat"] == [["10:00", "24:00"]] and saved.hours["tue"] == []
    assert saved.texts == {"fr": {"title": "Parlons-en"}, "ru": {"greeting": "Добрый день!"}}
    page = await client.get(answer.headers["location"])
    assert "Multiwidget settings saved." in page.text
    assert saved.identity_secret in page.text  # shown with the Python example
    assert service.identity_hash(saved.identity_secret, "42") in page.text
    assert 'value="Parlons-en"' in page.text

    # Clearing an override brings the built-in text back.
    token = csrf_from(page.text)
    cleared = form(token, chat_enabled="1", text_fr_title="", text_ru_greeting="Добрый день!")
    await client.post(page_url(team), data=cleared)
    assert (await service.widget_settings(state.engine, team.site.id)).texts == {
        "ru": {"greeting": "Добрый день!"}
    }


async def test_bad_fields_rerender_the_form_with_422(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    token = await log_in(client, team.admin.email)
    answer = await client.post(
        page_url(team),
        data=form(
            token,
            chat_enabled="1",
            color="red",
            hours_tue="18:00-09:00",
            hours_wed="all day",
            prechat_email="maybe",
            text_en_title="x" * 501,
        ),
    )
    assert answer.status_code == 422
    text = answer.text
    assert "Write the colour as #rrggbb" in text
    assert "An interval must end after it starts (18:00–09:00)." in text
    assert "Write times as HH:MM" in text
    assert "Must be one of: off, optional, required." in text
    assert "At most 500 characters." in text
    assert 'value="all day"' in text  # what was typed is shown again
    assert not (await service.widget_settings(state.engine, team.site.id)).chat_enabled


async def test_a_new_identity_secret(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    first = await service.enable_chat(team.access(), state.engine)
    token = await log_in(client, team.admin.email)
    answer = await client.post(f"{page_url(team)}/identity-secret", data={"csrf_token": token})
    assert answer.status_code == 303
    second = await service.widget_settings(state.engine, team.site.id)
    assert second.identity_secret != first.identity_secret and len(second.identity_secret) == 64
    refused = await client.post(f"{page_url(team)}/identity-secret", data={"csrf_token": "x"})
    assert refused.status_code == 403
