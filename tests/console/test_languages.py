"""English, French and Russian: complete catalogs, kept in step with the sources, and chosen by
the visitor's pick or their browser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from tests.conftest import PASSWORD, SiteTeam, csrf_from, log_in
from tests.console.conftest import ClientFactory, text_of

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "widget_server" / "locale"


def load(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def msgids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {message.id for message in catalog if message.id}


@pytest.mark.parametrize("language", ["fr", "ru"])
def test_every_message_is_translated(language: str) -> None:
    template = load(LOCALE / "messages.pot")
    catalog = load(LOCALE / language / "LC_MESSAGES" / "messages.po", language)
    assert len(msgids(template)) > 100
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = found.string if found else None
        forms = list(strings) if isinstance(strings, tuple) else [strings]
        if isinstance(message.id, tuple):
            forms_ok = len(forms) == catalog.num_plurals
        else:
            forms_ok = len(forms) == 1
        if found is None or found.fuzzy or not forms_ok or not all(forms):
            missing.append(message.id)
    assert missing == [], f"{language}: untranslated or fuzzy: {missing}"


def test_russian_has_its_three_plural_forms() -> None:
    catalog = load(LOCALE / "ru" / "LC_MESSAGES" / "messages.po", "ru")
    assert catalog.num_plurals == 3
    assert any(isinstance(message.id, tuple) for message in catalog)


def test_the_template_is_up_to_date_with_the_sources(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable, "-m", "babel.messages.frontend", "-q", "extract",
            "-F", "babel.cfg", "-o", str(fresh), "--no-location", "--omit-header",
            "--sort-output", "widget_server",
        ],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    committed = msgids(load(LOCALE / "messages.pot"))
    extracted = msgids(load(fresh))
    assert extracted == committed, (
        "widget_server/locale/messages.pot is stale: re-extract (see babel.cfg) and run "
        f"pybabel update. New: {sorted(map(str, extracted - committed))}; "
        f"gone: {sorted(map(str, committed - extracted))}"
    )


async def choose(http: httpx.AsyncClient, language: str, token: str) -> None:
    response = await http.post(
        "/console/language",
        data={"language": language, "csrf_token": token},
        headers={"referer": "http://testserver/console/login"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"


@pytest.mark.parametrize(
    ("language", "words"),
    [("fr", ["Connexion", "Mot de passe"]), ("ru", ["Вход", "Пароль"])],
)
async def test_the_login_page_in_the_language_chosen(
    client: httpx.AsyncClient, language: str, words: list[str]
) -> None:
    page = await client.get("/console/login")
    assert "Password" in page.text
    await choose(client, language, csrf_from(page.text))
    page = await client.get("/console/login")
    assert f'<html lang="{language}">' in page.text
    for word in words:
        assert word in text_of(page.text)
    assert "Password" not in text_of(page.text)


@pytest.mark.parametrize(
    ("header", "word"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8", "Mot de passe"),
        ("ru-RU,ru;q=0.9", "Пароль"),
        ("de-DE, en;q=0.5", "Password"),
    ],
)
async def test_the_browser_language_is_used_until_one_is_chosen(
    client: httpx.AsyncClient, header: str, word: str
) -> None:
    page = await client.get("/console/login", headers={"accept-language": header})
    assert word in text_of(page.text)
    await choose(client, "en", csrf_from(page.text))
    page = await client.get("/console/login", headers={"accept-language": header})
    assert "Password" in text_of(page.text)


async def test_a_logged_in_choice_is_remembered_on_the_account(
    client: httpx.AsyncClient, new_client: ClientFactory, team: SiteTeam
) -> None:
    token = await log_in(client, "owner@example.com")
    code = f"/console/sites/{team.site.key}/code"
    response = await client.post(
        "/console/language",
        data={"language": "ru", "csrf_token": token},
        headers={"referer": f"http://testserver{code}"},
    )
    assert response.headers["location"] == code
    page = text_of((await client.get(code)).text)
    assert "Код счётчика" in page and "Counter code" not in page

    elsewhere = new_client()  # a new browser: the account's language comes with the login
    await log_in(elsewhere, "owner@example.com", PASSWORD)
    assert "Код счётчика" in text_of((await elsewhere.get(code)).text)


async def test_a_foreign_referer_is_not_followed(client: httpx.AsyncClient) -> None:
    token = csrf_from((await client.get("/console/login")).text)
    response = await client.post(
        "/console/language",
        data={"language": "fr", "csrf_token": token},
        headers={"referer": "https://evil.example/console/login"},
    )
    assert response.headers["location"] == "/console"


async def test_messages_from_services_and_errors_are_translated(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    page = await client.get("/console/login", headers={"accept-language": "fr"})
    wrong = await client.post(
        "/console/login",
        data={"email": "owner@example.com", "password": "nope", "csrf_token": csrf_from(page.text)},
        headers={"accept-language": "fr"},
    )
    assert wrong.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect." in text_of(wrong.text)
    expired = await client.post(
        "/console/login", data={}, headers={"accept-language": "ru", "accept": "text/html"}
    )
    assert expired.status_code == 403
    assert "Форма устарела" in text_of(expired.text)


async def test_the_api_stays_english(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/site", headers={"accept-language": "fr"})
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("Send your secret key")
