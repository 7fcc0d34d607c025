"""The leave-a-message form: POST /chat/KEY/offline, the e-mails, the console's list."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import SiteTeam, csrf_from, log_in
from tests.widgets.conftest import ORIGIN
from widget_server.accounts import operators
from widget_server.outbox import service as outbox
from widget_server.outbox.store import Message
from widget_server.runtime import Runtime
from widget_server.widgets import service


@pytest.fixture
async def chat_on(state: Runtime, team: SiteTeam) -> None:
    await service.enable_chat(team.access(), state.engine)


def url(team: SiteTeam) -> str:
    return f"/chat/{team.site.key}/offline"


def message(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "i": "visitor-0001",
        "v": 1042,
        "name": "Ann",
        "email": "ann@example.org",
        "phone": "",
        "text": "Do you ship to Québec?",
        "u": "https://shop.example.com/pricing",
        "params": {"plan": "pro"},
    }
    body.update(fields)
    return body


async def post(
    client: httpx.AsyncClient, team: SiteTeam, body: Any, origin: str = ORIGIN
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Origin": origin, "Content-Type": "text/plain;charset=UTF-8"}
    return await client.post(url(team), content=content, headers=headers)


async def mails(state: Runtime, team: SiteTeam) -> list[Message]:
    page = await outbox.list_messages(team.access(), state.engine, kind="mail", state=None, page=1)
    return list(page.messages)


@pytest.mark.usefixtures("chat_on")
async def test_a_message_is_stored_and_mailed_to_every_active_member(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    answer = await post(client, team, message())
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"status": "received"}
    assert answer.headers["access-control-allow-origin"] == ORIGIN

    [stored] = await service.offline_messages(team.access("operator"), state.engine)
    assert (stored.visitor_key, stored.visit_number, stored.name) == ("visitor-0001", 1042, "Ann")
    assert stored.text == "Do you ship to Québec?" and stored.params == {"plan": "pro"}
    assert stored.page_url == "https://shop.example.com/pricing" and stored.read_at is None

    sent = await mails(state, team)
    assert sorted(m.target for m in sent) == sorted(
        [team.owner.email, team.admin.email, team.operator.email]
    )
    first = sent[0]
    assert first.topic == "offline_message"
    assert first.payload["subject"] == "New message from Ann on Shop"
    assert "Do you ship to Québec?" in first.payload["text"]
    assert "ann@example.org" in first.payload["text"]
    assert (
        f"http://testserver/console/sites/{team.site.key}/widgets/offline" in first.payload["html"]
    )


@pytest.mark.usefixtures("chat_on")
async def test_deactivated_members_are_not_mailed(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    await operators.set_operator_active(team.access(), state.engine, team.operator.id, False)
    assert (await post(client, team, message(email="", phone="+1 514 555 0100"))).status_code == 201
    assert sorted(m.target for m in await mails(state, team)) == sorted(
        [team.owner.email, team.admin.email]
    )


@pytest.mark.usefixtures("chat_on")
async def test_a_foreign_origin_is_refused(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    answer = await post(client, team, message(), origin="https://evil.example.net")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"
    assert "access-control-allow-origin" not in answer.headers
    missing = await client.post(url(team), content=json.dumps(message()).encode())
    assert missing.status_code == 403
    assert await service.offline_messages(team.access(), state.engine) == []
    assert await mails(state, team) == []


@pytest.mark.usefixtures("chat_on")
@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"text": ""}, {"text"}),
        ({"text": "   "}, {"text"}),
        ({"text": "x" * 4001}, {"text"}),
        ({"email": "", "phone": ""}, {"email"}),
        ({"email": "not-an-email"}, {"email"}),
        ({"phone": "call me"}, {"phone"}),
        ({"i": ""}, {"i"}),
        ({"v": "1042"}, {"v"}),
        ({"name": "x" * 121}, {"name"}),
        ({"params": {"k": ["list"]}}, {"params.k"}),
        ({"text": "", "email": "bad"}, {"text", "email"}),
    ],
)
async def test_bad_fields_are_named(
    client: httpx.AsyncClient,
    state: Runtime,
    team: SiteTeam,
    fields: dict[str, Any],
    named: set[str],
) -> None:
    answer = await post(client, team, message(**fields))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_request"
    assert {detail["field"] for detail in error["details"]} == named
    assert answer.headers["access-control-allow-origin"] == ORIGIN  # the widget can read it
    assert await service.offline_messages(team.access(), state.engine) == []


@pytest.mark.usefixtures("chat_on")
async def test_bodies_that_are_not_json_objects_or_too_large(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    assert (await post(client, team, b"not json")).status_code == 400
    assert (await post(client, team, [1, 2])).status_code == 400
    big = await post(client, team, message(text="x" * 17_000))
    assert big.status_code == 413


async def test_unknown_site_or_chat_off_is_404(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    assert (await post(client, team, message())).status_code == 404  # the chat is off
    await service.enable_chat(team.access(), state.engine)
    await service.enable_chat(team.access(), state.engine, False)
    assert (await post(client, team, message())).status_code == 404
    unknown = await client.post(
        "/chat/nosuchsite00/offline", content=b"{}", headers={"Origin": ORIGIN}
    )
    assert unknown.status_code == 404


@pytest.mark.usefixtures("chat_on")
async def test_five_messages_per_visitor_an_hour(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    for number in range(5):
        assert (await post(client, team, message(text=f"#{number}"))).status_code == 201
    refused = await post(client, team, message(text="#6"))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 3500 <= int(refused.headers["retry-after"]) <= 3601
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    assert refused.headers["access-control-expose-headers"] == "Retry-After"  # readable by JS
    other_visitor = await post(client, team, message(i="visitor-0002"))
    assert other_visitor.status_code == 201
    assert len(await service.offline_messages(team.access(), state.engine)) == 6


@pytest.mark.usefixtures("chat_on")
async def test_twenty_messages_per_address_an_hour(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    for number in range(20):
        answer = await post(client, team, message(i=f"visitor-{number}"))
        assert answer.status_code == 201
    refused = await post(client, team, message(i="visitor-new"))
    assert refused.status_code == 429 and "retry-after" in refused.headers


@pytest.mark.usefixtures("chat_on")
async def test_the_console_lists_messages_newest_first_and_marks_them_read(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    await post(client, team, message(text="First <b>message</b>"))
    await post(client, team, message(text="Second message", name="Bob"))
    token = await log_in(client, team.operator.email)
    page = await client.get(f"/console/sites/{team.site.key}/widgets/offline")
    assert page.status_code == 200
    assert page.text.index("Second message") < page.text.index("First &lt;b&gt;message")
    assert "2 unread" in page.text
    newest = (await service.offline_messages(team.access(), state.engine))[0]
    read_url = f"/console/sites/{team.site.key}/widgets/offline/{newest.id}/read"
    assert (await client.post(read_url, data={})).status_code == 403  # no CSRF token
    answer = await client.post(read_url, data={"csrf_token": token})
    assert answer.status_code == 303
    first_read = (await service.offline_messages(team.access(), state.engine))[0].read_at
    assert first_read is not None
    page = await client.get(answer.headers["location"])
    assert "1 unread" in page.text
    # Marking again keeps the first time.
    await client.post(read_url, data={"csrf_token": csrf_from(page.text)})
    assert (await service.offline_messages(team.access(), state.engine))[0].read_at == first_read
    missing = await client.post(
        f"/console/sites/{team.site.key}/widgets/offline/999999/read",
        data={"csrf_token": token},
    )
    assert missing.status_code == 404
