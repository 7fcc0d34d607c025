"""The Operators tab through its real multipart forms: avatars, roles, who may do what."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import PASSWORD, SiteTeam, log_in
from tests.console.conftest import ClientFactory, image, row_with, text_of

NEW = {"name": "Nina New", "email": "nina@example.com", "password": "a long enough password"}


def operators_url(team: SiteTeam) -> str:
    return f"/console/sites/{team.site.key}/operators"


async def add_operator(
    http: httpx.AsyncClient,
    team: SiteTeam,
    token: str,
    avatar: tuple[str, bytes, str] | None = None,
    **fields: str,
) -> httpx.Response:
    data = {**NEW, "csrf_token": token, **fields}
    # A browser sends the file part even when nothing was chosen: an empty file without a name.
    files = {"avatar": avatar or ("", b"", "application/octet-stream")}
    return await http.post(operators_url(team), data=data, files=files)


@pytest.mark.parametrize(
    ("filename", "content", "rule"),
    [
        ("avatar.png", image(100, 100), "The avatar must be at least 200×200 px"),
        ("avatar.png", image(400, 300), "The avatar must be square; this one is 400×300 px."),
        ("avatar.png", image(2000, 2000), "The avatar must be at most 1500×1500 px"),
        ("avatar.gif", image(400, 400, "GIF"), "must be a PNG or JPEG image, not GIF."),
        ("avatar.jpg", image(400, 400), "The file is a PNG image but its name ends in '.jpg'"),
        ("avatar.png", b"hello, I am text\n" * 40, "this file is not an image"),
    ],
    ids=["too-small", "not-square", "too-big", "gif", "name-mismatch", "not-an-image"],
)
async def test_an_avatar_breaking_a_rule_is_refused_naming_it(
    client: httpx.AsyncClient, team: SiteTeam, filename: str, content: bytes, rule: str
) -> None:
    token = await log_in(client, "owner@example.com")
    response = await add_operator(client, team, token, avatar=(filename, content, "image/png"))
    assert response.status_code == 422
    page = text_of(response.text)
    assert rule in page
    assert 'id="avatar-errors"' in response.text  # shown next to the avatar field
    assert 'value="Nina New"' in response.text and 'value="nina@example.com"' in response.text
    assert NEW["password"] not in response.text
    listing = await client.get(operators_url(team))
    assert "nina@example.com" not in listing.text


async def test_a_valid_jpeg_avatar_is_kept_and_served(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    token = await log_in(client, "owner@example.com")
    jpeg = image(400, 400, "JPEG")
    response = await add_operator(client, team, token, avatar=("me.jpeg", jpeg, "image/jpeg"))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == operators_url(team)
    listing = await client.get(operators_url(team))
    assert "Nina New can now log in and answer chats." in text_of(listing.text)
    match = re.search(
        r'<img class="avatar" src="(/files/[0-9a-f-]+)"', row_with(listing.text, "Nina New")
    )
    assert match, "no avatar image in Nina's row"
    served = await client.get(match.group(1))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.content == jpeg
    # The new operator can log in with the password the admin chose.
    assert await log_in(client, "nina@example.com", NEW["password"])


async def test_fields_are_checked_together_and_shown_next_to_each(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    token = await log_in(client, "owner@example.com")
    response = await add_operator(
        client,
        team,
        token,
        avatar=("a.png", image(100, 100), "image/png"),
        name=" ",
        password="short",
    )
    assert response.status_code == 422
    for field in ("name", "password", "avatar"):
        assert f'id="{field}-errors"' in response.text
    assert "The password must be at least 8 characters." in text_of(response.text)


async def test_someone_already_on_the_site_is_a_conflict(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    token = await log_in(client, "owner@example.com")
    response = await add_operator(client, team, token, email="operator@example.com")
    assert response.status_code == 409
    assert "Already a member of this site." in text_of(response.text)
    assert 'id="email-errors"' in response.text


async def test_only_the_owner_can_make_an_administrator(
    client: httpx.AsyncClient, new_client: ClientFactory, team: SiteTeam
) -> None:
    admin = new_client()
    admin_token = await log_in(admin, "admin@example.com")
    form = await admin.get(operators_url(team) + "/new")
    assert form.status_code == 200
    assert 'name="admin"' not in form.text  # no checkbox for a non-owner ...
    refused = await add_operator(admin, team, admin_token, admin="1")
    assert refused.status_code == 403  # ... and a forged one is refused
    listing = await admin.get(operators_url(team))
    assert "nina@example.com" not in listing.text
    # An admin may still add plain operators.
    assert (await add_operator(admin, team, admin_token)).status_code == 303

    owner_token = await log_in(client, "owner@example.com")
    assert 'name="admin"' in (await client.get(operators_url(team) + "/new")).text
    made = await add_operator(client, team, owner_token, admin="1", email="ada@example.com")
    assert made.status_code == 303
    listing = await client.get(operators_url(team))
    assert "Administrator" in row_with(listing.text, "ada@example.com")


async def test_an_operator_sees_only_the_counter_code(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    await log_in(client, "operator@example.com")
    base = f"/console/sites/{team.site.key}"
    for tab in ("operators", "operators/new", "api-keys", "settings"):
        assert (await client.get(f"{base}/{tab}")).status_code == 403, tab
    page = await client.get(f"{base}/code")
    assert page.status_code == 200
    assert f'href="{base}/operators"' not in page.text  # no tab for what they cannot open


async def test_editing_an_operator_changes_name_password_and_role(
    client: httpx.AsyncClient, new_client: ClientFactory, team: SiteTeam
) -> None:
    token = await log_in(client, "owner@example.com")
    url = f"{operators_url(team)}/{team.operator.id}"
    form = await client.get(url)
    assert 'value="Oscar Operator"' in form.text
    assert f'action="{url}"' in form.text and 'enctype="multipart/form-data"' in form.text
    response = await client.post(
        url,
        data={
            "csrf_token": token,
            "name": "Oscar Renamed",
            "password": "a brand new secret",
            "admin": "1",
        },
        files={"avatar": ("portrait.png", image(300, 300), "image/png")},
    )
    assert response.status_code == 303, response.text
    listing = await client.get(operators_url(team))
    row = row_with(listing.text, "operator@example.com")
    assert "Oscar Renamed" in row
    assert '<img class="avatar" src="/files/' in row
    assert "Administrator" in row
    oscar = new_client()
    assert await log_in(oscar, "operator@example.com", "a brand new secret")


async def test_an_invalid_edit_keeps_what_was_typed(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    token = await log_in(client, "owner@example.com")
    url = f"{operators_url(team)}/{team.operator.id}"
    response = await client.post(
        url, data={"csrf_token": token, "name": "Oscar", "password": "short"}
    )
    assert response.status_code == 422
    assert 'value="Oscar"' in response.text
    assert 'id="password-errors"' in response.text


async def test_an_admin_cannot_edit_or_deactivate_another_admin_or_the_owner(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    token = await log_in(client, "admin@example.com")
    base = operators_url(team)
    listing = await client.get(base)
    assert f'href="{base}/{team.operator.id}"' in listing.text
    assert f'href="{base}/{team.owner.id}"' not in listing.text
    assert (await client.get(f"{base}/{team.owner.id}")).status_code == 403
    for target in (team.owner.id, team.admin.id):
        refused = await client.post(f"{base}/{target}/deactivate", data={"csrf_token": token})
        assert refused.status_code == 403


async def test_changing_your_own_password_keeps_only_this_session(
    client: httpx.AsyncClient, new_client: ClientFactory, team: SiteTeam
) -> None:
    elsewhere = new_client()
    await log_in(elsewhere, "owner@example.com", PASSWORD)
    token = await log_in(client, "owner@example.com", PASSWORD)
    url = f"{operators_url(team)}/{team.owner.id}"
    response = await client.post(
        url, data={"csrf_token": token, "name": "Olivia Owner", "password": "another password"}
    )
    assert response.status_code == 303
    assert (await client.get(operators_url(team))).status_code == 200
    assert (await elsewhere.get(operators_url(team))).status_code == 401
