"""Widget settings through the service: defaults, language choice, texts, working hours,
identity hashes, validation and who may change them."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from tests.conftest import SiteTeam
from widget_server.accounts import service as accounts
from widget_server.errors import Forbidden, InvalidRequest
from widget_server.runtime import Runtime
from widget_server.widgets import service
from widget_server.widgets.service import WidgetSettings

PARIS = "Europe/Paris"


async def test_defaults_until_the_first_save(state: Runtime, team: SiteTeam) -> None:
    settings = await service.widget_settings(state.engine, team.site.id)
    assert settings.chat_enabled is False
    assert settings.default_language == team.site.default_language == "en"
    assert settings.identity_secret == ""
    assert settings.always_open is True
    assert settings.hours["mon"] == [["09:00", "18:00"]] and settings.hours["sun"] == []


async def test_the_default_language_is_the_sites(state: Runtime, team: SiteTeam) -> None:
    site = await accounts.create_site(
        state.engine, name="Boutique", owner=team.owner, default_language="fr"
    )
    settings = await service.widget_settings(state.engine, site.id)
    assert settings.default_language == "fr"


async def test_enabling_writes_the_row_with_a_secret_once(state: Runtime, team: SiteTeam) -> None:
    on = await service.enable_chat(team.access("admin"), state.engine)
    assert on.chat_enabled and len(on.identity_secret) == 64
    assert await service.widget_settings(state.engine, team.site.id) == on
    off = await service.enable_chat(team.access(), state.engine, False)
    assert not off.chat_enabled
    assert off.identity_secret == on.identity_secret  # the secret is made only once


async def test_only_admins_change_settings(state: Runtime, team: SiteTeam) -> None:
    with pytest.raises(Forbidden):
        await service.enable_chat(team.access("operator"), state.engine)
    with pytest.raises(Forbidden):
        await service.update_widget(team.access("operator"), state.engine, color="#000000")
    assert not (await service.widget_settings(state.engine, team.site.id)).chat_enabled


async def test_update_keeps_what_is_not_given(state: Runtime, team: SiteTeam) -> None:
    saved = await service.update_widget(
        team.access(),
        state.engine,
        color="#AA0011",
        position="left",
        prechat={"name": "required", "email": "optional"},
        hours={"mon": [["14:00", "18:00"], ["09:00", "12:00"]]},
    )
    assert saved.color == "#aa0011" and saved.position == "left"
    assert saved.prechat == {"name": "required", "email": "optional", "phone": "off"}
    assert saved.hours["mon"] == [["09:00", "12:00"], ["14:00", "18:00"]]  # sorted
    assert saved.hours["tue"] == []  # a day not given is closed
    again = await service.update_widget(team.access(), state.engine, auto_assign=True)
    assert again.color == "#aa0011" and again.auto_assign and again.hours == saved.hours


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"color": "red"}, {"color"}),
        ({"color": "#12345g"}, {"color"}),
        ({"position": "top"}, {"position"}),
        ({"offline_mode": "maybe"}, {"offline_mode"}),
        ({"default_language": "de"}, {"default_language"}),
        ({"chat_enabled": "yes"}, {"chat_enabled"}),
        ({"prechat": {"name": "sometimes"}}, {"prechat.name"}),
        ({"prechat": {"age": "off"}}, {"prechat.age"}),
        ({"hours": {"mon": [["9h", "18:00"]]}}, {"hours.mon"}),
        ({"hours": {"tue": [["18:00", "09:00"]]}}, {"hours.tue"}),
        ({"hours": {"wed": [["24:00", "24:00"]]}}, {"hours.wed"}),
        ({"hours": {"thu": [["09:00", "12:00"], ["11:00", "13:00"]]}}, {"hours.thu"}),
        ({"hours": {"fri": [["09:00"]]}}, {"hours.fri"}),
        ({"hours": {"someday": []}}, {"hours.someday"}),
        ({"hours": {"mon": "09:00-18:00"}}, {"hours.mon"}),
        ({"hours": {"mon": [["00:00", "01:00"]] * 7}}, {"hours.mon"}),
        ({"hours": []}, {"hours"}),
        ({"texts": {"de": {"title": "Hallo"}}}, {"texts.de"}),
        ({"texts": {"fr": {"nope": "x"}}}, {"texts.fr.nope"}),
        ({"texts": {"ru": {"title": "x" * 501}}}, {"texts.ru.title"}),
        ({"identity_secret": "short"}, {"identity_secret"}),
        ({"site_id": 5}, {"site_id"}),
        (
            {"color": "blue", "position": "up", "hours": {"sat": [["1", "2"]]}},
            {"color", "position", "hours.sat"},
        ),
    ],
)
async def test_bad_values_are_refused_naming_each(
    state: Runtime, team: SiteTeam, changes: dict[str, object], named: set[str]
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await service.update_widget(team.access(), state.engine, **changes)
    assert {detail["field"] for detail in refused.value.details} == named
    # Nothing was written: still the defaults, with no secret made.
    assert (await service.widget_settings(state.engine, team.site.id)).identity_secret == ""


def settings(**changes: object) -> WidgetSettings:
    base: dict[str, object] = {
        "site_id": 1,
        "chat_enabled": True,
        "default_language": "en",
        "use_browser_language": True,
        "texts": {},
        "color": "#1f6feb",
        "position": "right",
        "always_open": False,
        "hours": {day: [] for day in service.WEEKDAYS},
        "offline_mode": "form",
        "prechat": {"name": "optional", "email": "optional", "phone": "off"},
        "identity_required": False,
        "identity_secret": "s" * 64,
        "auto_assign": False,
    }
    base.update(changes)
    return WidgetSettings(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("browser", "use_browser", "default", "chosen"),
    [
        (["fr-CA", "fr", "en"], True, "en", "fr"),
        (["de-DE", "ru"], True, "en", "ru"),
        (["de-DE", "es"], True, "fr", "fr"),
        (["RU_ru"], True, "en", "ru"),
        ([], True, "ru", "ru"),
        (["fr-CA", "fr"], False, "ru", "ru"),
    ],
)
def test_language_choice(browser: list[str], use_browser: bool, default: str, chosen: str) -> None:
    widget = service.public_widget(
        settings(use_browser_language=use_browser, default_language=default, always_open=True),
        languages=browser,
        time_zone=PARIS,
        now=datetime(2026, 12, 1, 12, tzinfo=UTC),
    )
    assert widget["language"] == chosen
    assert widget["texts"] == service.BUILT_IN[chosen]


def test_overrides_replace_built_in_texts_key_by_key() -> None:
    widget = service.public_widget(
        settings(texts={"fr": {"title": "Parlons-en"}, "en": {"greeting": "Hi!"}}),
        languages=["fr"],
        time_zone=PARIS,
        now=datetime(2026, 12, 1, 12, tzinfo=UTC),
    )
    assert widget["texts"]["title"] == "Parlons-en"
    assert widget["texts"]["greeting"] == service.BUILT_IN["fr"]["greeting"]
    assert set(widget["texts"]) == set(service.TEXT_KEYS)
    assert widget["color"] == "#1f6feb" and widget["position"] == "right"
    assert widget["prechat"] == {"name": "optional", "email": "optional", "phone": "off"}


def test_every_language_has_every_text() -> None:
    for language in service.WIDGET_LANGUAGES:
        assert set(service.BUILT_IN[language]) == set(service.TEXT_KEYS)
        assert all(text.strip() for text in service.BUILT_IN[language].values())
    assert service.BUILT_IN["ru"]["send"] == "Отправить"


def state_at(widget_settings: WidgetSettings, when: datetime, zone: str = PARIS) -> str:
    result = service.public_widget(widget_settings, languages=[], time_zone=zone, now=when)
    return str(result["state"])


def test_hours_are_read_in_the_sites_time_zone_across_a_weekday_boundary() -> None:
    # Monday 23:00–24:00 and Tuesday 00:00–01:00 in Paris (UTC+1 in December).
    late = settings(hours={"mon": [["23:00", "24:00"]], "tue": [["00:00", "01:00"]]})
    # Monday 2026-11-30 22:30 UTC is Monday 23:30 in Paris: open.
    assert state_at(late, datetime(2026, 11, 30, 22, 30, tzinfo=UTC)) == "open"
    # Monday 23:30 UTC is Tuesday 00:30 in Paris: open (Tuesday's interval).
    assert state_at(late, datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == "open"
    # Tuesday 00:30 UTC is Tuesday 01:30 in Paris: closed.
    assert state_at(late, datetime(2026, 12, 1, 0, 30, tzinfo=UTC)) == "form"
    # Monday 21:59 UTC is 22:59 in Paris: not yet.
    assert state_at(late, datetime(2026, 11, 30, 21, 59, tzinfo=UTC)) == "form"
    # The same instant read in UTC: Monday 22:30 is before Monday 23:00.
    assert state_at(late, datetime(2026, 11, 30, 22, 30, tzinfo=UTC), "UTC") == "form"


def test_several_intervals_a_day_and_their_edges() -> None:
    split = settings(hours={"wed": [["09:00", "12:00"], ["14:00", "18:00"]]}, offline_mode="hide")
    paris = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
    assert state_at(split, paris) == "open"
    assert state_at(split, paris.replace(hour=10, minute=59)) == "open"  # 11:59
    assert state_at(split, paris.replace(hour=11)) == "hidden"  # 12:00: the end is excluded
    assert state_at(split, paris.replace(hour=13)) == "open"  # 14:00
    assert state_at(split, paris.replace(hour=17)) == "hidden"  # 18:00
    assert state_at(split, paris.replace(day=3, hour=10)) == "hidden"  # Thursday: closed


def test_always_open_ignores_hours_and_summer_time_is_followed() -> None:
    never = settings(always_open=True)
    assert state_at(never, datetime(2026, 12, 6, 3, tzinfo=UTC)) == "open"
    # In July Paris is UTC+2: Friday 07:30 UTC is 09:30 local.
    summer = settings(hours={"fri": [["09:00", "10:00"]]})
    assert state_at(summer, datetime(2026, 7, 3, 7, 30, tzinfo=UTC)) == "open"
    assert state_at(summer, datetime(2026, 7, 3, 8, 30, tzinfo=UTC)) == "form"


def test_identity_verification() -> None:
    secret = "k" * 64
    good = hmac.new(secret.encode(), b"42", hashlib.sha256).hexdigest()
    verified = settings(identity_secret=secret)
    assert service.identity_verified(verified, "42", good)
    assert service.identity_verified(verified, "42", good.upper())
    assert not service.identity_verified(verified, "43", good)
    assert not service.identity_verified(verified, "42", good[:-1] + "0")
    assert not service.identity_verified(verified, "42", None)
    assert not service.identity_verified(settings(identity_secret=""), "42", good)
