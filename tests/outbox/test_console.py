"""The Webhooks and Outbox tabs of the console: admin-only, CSRF-checked, site-scoped."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import SiteTeam, create_team, log_in
from widget_server.outbox import service
from widget_server.runtime import Runtime


def site(team: SiteTeam) -> str:
    return f"/console/sites/{team.site.key}"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/webhooks"),
        ("POST", "/webhooks"),
        ("POST", "/webhooks/1/disable"),
        ("POST", "/webhooks/1/test"),
        ("GET", "/outbox"),
        ("GET", "/outbox/1"),
        ("POST", "/outbox/test-mail"),
        ("POST", "/outbox/1/retry"),
    ],
)
async def test_operators_are_refused(
    client: httpx.AsyncClient, team: SiteTeam, method: str, path: str
) -> None:
    token = await log_in(client, team.operator.email)
    response = await client.request(
        method,
        site(team) + path,
        headers={"Accept": "text/html"},
        data={"csrf_token": token, "url": "https://a.example/h"} if method == "POST" else None,
    )
    assert response.status_code == 403


async def test_a_post_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    await log_in(client, team.owner.email)
    response = await client.post(
        f"{site(team)}/webhooks",
        data={"url": "https://a.example/h"},
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 403
    assert await service.list_endpoints(team.access(), state.engine) == []
    response = await client.post(f"{site(team)}/outbox/test-mail", data={"csrf_token": "forged"})
    assert response.status_code == 403


async def test_manage_endpoints_from_the_webhooks_tab(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    token = await log_in(client, team.admin.email)
    page = await client.get(f"{site(team)}/webhooks")
    assert page.status_code == 200
    assert 'value="ping"' in page.text

    bad = await client.post(
        f"{site(team)}/webhooks", data={"csrf_token": token, "url": "not a url"}
    )
    assert bad.status_code == 422
    assert "absolute http" in bad.text and 'value="not a url"' in bad.text

    created = await client.post(
        f"{site(team)}/webhooks",
        data={
            "csrf_token": token,
            "url": "https://shop.example.com/in",
            "description": "Orders",
            "event_types": ["ping"],
        },
    )
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    (endpoint,) = await service.list_endpoints(team.access(), state.engine)
    assert (endpoint.url, endpoint.description, endpoint.event_types) == (
        "https://shop.example.com/in",
        "Orders",
        ["ping"],
    )
    secret = re.search(r'<code id="webhook-secret">([^<]+)</code>', created.text)
    assert secret and secret.group(1) == endpoint.secret
    assert 'data-copy="#webhook-secret"' in created.text
    assert endpoint.secret not in (await client.get(f"{site(team)}/webhooks")).text

    base = f"{site(team)}/webhooks/{endpoint.id}"
    tested = await client.post(f"{base}/test", data={"csrf_token": token})
    assert tested.status_code == 303
    page = await client.get(tested.headers["location"])
    assert page.status_code == 200 and "ping" in page.text and "Pending" in page.text

    assert (await client.post(f"{base}/disable", data={"csrf_token": token})).status_code == 303
    (endpoint,) = await service.list_endpoints(team.access(), state.engine)
    assert not endpoint.is_active
    assert (await client.post(f"{base}/enable", data={"csrf_token": token})).status_code == 303
    (endpoint,) = await service.list_endpoints(team.access(), state.engine)
    assert endpoint.is_active
    assert (await client.post(f"{base}/delete", data={"csrf_token": token})).status_code == 303
    assert await service.list_endpoints(team.access(), state.engine) == []


async def test_another_sites_endpoints_and_messages_are_not_found(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    other = await create_team(state, prefix="b-")
    theirs = await service.create_endpoint(other.access(), state.engine, url="https://b.example/h")
    message_id = await service.send_test_event(other.access(), state.engine, theirs.id)
    token = await log_in(client, team.owner.email)
    for path in (
        f"/webhooks/{theirs.id}/delete",
        f"/webhooks/{theirs.id}/test",
        f"/outbox/{message_id}/retry",
    ):
        response = await client.post(site(team) + path, data={"csrf_token": token})
        assert response.status_code == 404, path
    assert (await client.get(f"{site(team)}/outbox/{message_id}")).status_code == 404
    assert await service.list_endpoints(other.access(), state.engine) == [theirs]


async def test_the_outbox_tab_lists_filters_and_pages(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    token = await log_in(client, team.owner.email)
    page = await client.get(f"{site(team)}/outbox")
    assert "Mail is not configured" in page.text and "VITRINE_SMTP_URL" in page.text
    assert "Send a test e-mail to me" in page.text

    queued = await client.post(f"{site(team)}/outbox/test-mail", data={"csrf_token": token})
    assert queued.status_code == 303
    page = await client.get(queued.headers["location"])
    assert team.owner.email in page.text
    assert "Your Vitrine mail settings work" in page.text
    assert "1 e-mail is waiting" in page.text

    endpoint = await service.create_endpoint(team.access(), state.engine, url="https://a.ex/h")
    for _ in range(55):
        await service.send_test_event(team.access(), state.engine, endpoint.id)

    def rows(html: str) -> list[str]:
        body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        return re.findall(r"<tr>", body)

    first = await client.get(f"{site(team)}/outbox")
    assert len(rows(first.text)) == 50
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = await client.get(f"{site(team)}/outbox", params={"page": 2})
    assert len(rows(second.text)) == 6
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text

    mails = await client.get(f"{site(team)}/outbox", params={"kind": "mail"})
    assert len(rows(mails.text)) == 1 and team.owner.email in mails.text
    sent = await client.get(f"{site(team)}/outbox", params={"state": "sent"})
    assert "Nothing here yet" in sent.text
    hooks = await client.get(f"{site(team)}/outbox", params={"kind": "webhook", "page": 2})
    assert len(rows(hooks.text)) == 5
    assert "kind=webhook" in hooks.text  # the pager keeps the filter
