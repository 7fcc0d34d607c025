"""Reply templates: admins manage them, every member searches them (Cyrillic too)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import SiteTeam, create_team, log_in
from widget_server.errors import Forbidden, InvalidRequest, NotFound
from widget_server.runtime import Runtime
from widget_server.widgets import service


def list_url(team: SiteTeam) -> str:
    return f"/console/sites/{team.site.key}/widgets/templates"


def json_url(team: SiteTeam) -> str:
    return f"/console/sites/{team.site.key}/chats/templates.json"


async def seed(state: Runtime, team: SiteTeam) -> None:
    for name, text in [
        ("Доставка", "Мы ДОСТАВЛЯЕМ заказы по Москве за два дня."),
        ("Delivery times", "We ship within two days across the country."),
        ("Returns", "You can return any item within 30 days."),
        ("Élan", "Livraison EXPRESS en 24 h."),
    ]:
        await service.create_template(team.access("admin"), state.engine, name=name, text=text)


async def test_search_matches_every_word_in_any_case(state: Runtime, team: SiteTeam) -> None:
    await seed(state, team)
    access = team.access("operator")

    async def names(query: str) -> list[str]:
        return [t.name for t in await service.search_templates(access, state.engine, query)]

    assert await names("доставка") == ["Доставка"]  # the name, folded
    assert await names("доставляем МОСКВЕ") == ["Доставка"]  # two words in the text
    assert await names("два москве") == ["Доставка"]
    assert await names("two days") == ["Delivery times"]
    assert await names("two returns") == []  # every word must match
    assert await names("élan express") == ["Élan"]
    assert len(await names("")) == 4


async def test_templates_json_for_any_member(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    await seed(state, team)
    await log_in(client, team.operator.email)
    answer = await client.get(json_url(team), params={"q": "ДОСТАВЛЯЕМ два"})
    assert answer.status_code == 200
    [found] = answer.json()
    assert set(found) == {"id", "name", "text"} and found["name"] == "Доставка"
    everything = await client.get(json_url(team))
    assert [t["name"] for t in everything.json()] == [
        "Delivery times",
        "Returns",
        "Élan",
        "Доставка",
    ]


async def test_templates_json_needs_a_member(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    other = await create_team(state, "other-")
    await log_in(client, other.owner.email)
    assert (await client.get(json_url(team))).status_code == 404
    client.cookies.clear()
    assert (await client.get(json_url(team))).status_code == 401


async def test_only_admins_manage_templates(state: Runtime, team: SiteTeam) -> None:
    with pytest.raises(Forbidden):
        await service.create_template(team.access("operator"), state.engine, name="a", text="b")
    made = await service.create_template(team.access(), state.engine, name="a", text="b")
    with pytest.raises(Forbidden):
        await service.update_template(
            team.access("operator"), state.engine, made.id, name="c", text="d"
        )
    with pytest.raises(Forbidden):
        await service.delete_template(team.access("operator"), state.engine, made.id)
    other = await create_team(state, "other-")
    with pytest.raises(NotFound):  # another site's template is not found
        await service.delete_template(other.access(), state.engine, made.id)


@pytest.mark.parametrize(
    ("name", "text", "named"),
    [
        ("", "text", {"name"}),
        ("  ", "text", {"name"}),
        ("x" * 121, "text", {"name"}),
        ("name", "", {"text"}),
        ("name", "x" * 4001, {"text"}),
        ("", "", {"name", "text"}),
    ],
)
async def test_bad_templates_are_refused(
    state: Runtime, team: SiteTeam, name: str, text: str, named: set[str]
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await service.create_template(team.access(), state.engine, name=name, text=text)
    assert {d["field"] for d in refused.value.details} == named


async def test_limits_are_inclusive(state: Runtime, team: SiteTeam) -> None:
    made = await service.create_template(
        team.access(), state.engine, name="x" * 120, text="y" * 4000
    )
    assert (len(made.name), len(made.text)) == (120, 4000)


async def test_the_console_pages(client: httpx.AsyncClient, state: Runtime, team: SiteTeam) -> None:
    token = await log_in(client, team.admin.email)
    page = await client.get(list_url(team))
    assert page.status_code == 200 and "No reply templates yet." in page.text

    added = await client.post(
        list_url(team), data={"csrf_token": token, "name": "Hours", "text": "9 to 5"}
    )
    assert added.status_code == 303
    [made] = await service.reply_templates(team.access(), state.engine)
    assert (made.name, made.text) == ("Hours", "9 to 5")

    bad = await client.post(list_url(team), data={"csrf_token": token, "name": "", "text": "x"})
    assert bad.status_code == 422 and "Enter a name." in bad.text

    edit = await client.get(f"{list_url(team)}/{made.id}")
    assert edit.status_code == 200 and ">9 to 5</textarea>" in edit.text
    saved = await client.post(
        f"{list_url(team)}/{made.id}",
        data={"csrf_token": token, "name": "Opening hours", "text": "9 to 6"},
    )
    assert saved.status_code == 303
    assert (await service.get_template(team.access(), state.engine, made.id)).text == "9 to 6"

    no_csrf = await client.post(f"{list_url(team)}/{made.id}/delete", data={})
    assert no_csrf.status_code == 403
    deleted = await client.post(f"{list_url(team)}/{made.id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    assert await service.reply_templates(team.access(), state.engine) == []
    gone = await client.get(f"{list_url(team)}/{made.id}")
    assert gone.status_code == 404


async def test_operators_cannot_use_the_management_pages(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    token = await log_in(client, team.operator.email)
    assert (await client.get(list_url(team))).status_code == 403
    added = await client.post(list_url(team), data={"csrf_token": token, "name": "a", "text": "b"})
    assert added.status_code == 403
    assert await service.reply_templates(team.access(), state.engine) == []
