"""Queueing: a message exists exactly when the caller's transaction commits."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SiteTeam, create_team
from widget_server.outbox import service, webhooks
from widget_server.runtime import Runtime


class Boom(Exception):
    pass


async def test_a_rolled_back_transaction_leaves_no_message(state: Runtime, team: SiteTeam) -> None:
    await service.create_endpoint(team.access(), state.engine, url="https://example.com/hook")
    with pytest.raises(Boom):
        async with state.engine.begin() as conn:
            await service.send_mail(
                conn,
                site_id=team.site.id,
                to="a@example.com",
                template="test",
                context={"user_name": "A", "site_name": "S", "console_url": "http://x"},
            )
            assert await service.emit_event(conn, site_id=team.site.id, event_type="ping", data={})
            raise Boom
    page = await service.list_messages(team.access(), state.engine, kind=None, state=None, page=1)
    assert page.messages == []

    async with state.engine.begin() as conn:
        await service.send_mail(
            conn,
            site_id=team.site.id,
            to="a@example.com",
            template="test",
            context={"user_name": "A", "site_name": "S", "console_url": "http://x"},
        )
        await service.emit_event(conn, site_id=team.site.id, event_type="ping", data={})
    page = await service.list_messages(team.access(), state.engine, kind=None, state=None, page=1)
    assert sorted(m.kind for m in page.messages) == ["mail", "webhook"]


async def test_mail_is_rendered_when_queued(state: Runtime, team: SiteTeam) -> None:
    async with state.engine.begin() as conn:
        message_id = await service.send_mail(
            conn,
            site_id=team.site.id,
            to="ann@example.com",
            template="test",
            context={"user_name": "Ann <b>", "site_name": "Shop", "console_url": "http://x/o"},
        )
    message, attempts = await service.message_detail(team.access(), state.engine, message_id)
    assert (message.kind, message.target, message.state, attempts) == (
        "mail",
        "ann@example.com",
        "pending",
        [],
    )
    assert message.payload["subject"] == "Your Vitrine mail settings work"
    assert "Hello Ann <b>," in message.payload["text"]
    assert "Hello Ann &lt;b&gt;," in message.payload["html"]  # HTML escapes the context
    assert 'href="http://x/o"' in message.payload["html"]
    assert message.max_attempts == 6


async def test_events_reach_active_subscribed_endpoints_of_the_site(
    state: Runtime, team: SiteTeam, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(webhooks.EVENT_TYPES, "order.paid", "An order was paid.")
    engine = state.engine
    every = await service.create_endpoint(team.access(), engine, url="https://a.example/h")
    pings = await service.create_endpoint(
        team.access(), engine, url="https://b.example/h", event_types=["ping"]
    )
    orders = await service.create_endpoint(
        team.access(), engine, url="https://c.example/h", event_types=["order.paid"]
    )
    off = await service.create_endpoint(team.access(), engine, url="https://d.example/h")
    await service.set_endpoint_active(team.access(), engine, off.id, False)
    other = await create_team(state, prefix="b-")
    await service.create_endpoint(other.access(), engine, url="https://e.example/h")

    async with engine.begin() as conn:
        ids = await service.emit_event(
            conn, site_id=team.site.id, event_type="order.paid", data={"order": 7}
        )
    targets = set()
    bodies = set()
    for message_id in ids:
        message, _ = await service.message_detail(team.access(), engine, message_id)
        targets.add(message.endpoint_id)
        bodies.add(message.payload["body"])
        assert (message.kind, message.topic, message.max_attempts) == ("webhook", "order.paid", 8)
    assert targets == {every.id, orders.id}
    assert pings.id not in targets
    (body,) = bodies  # one event: the same body for every endpoint
    event = json.loads(body)
    assert event["id"].startswith("evt_")
    assert event["type"] == "order.paid"
    assert event["site"] == team.site.key
    assert event["data"] == {"order": 7}
    assert isinstance(event["created"], int)


async def test_an_unknown_event_type_is_a_programming_error(state: Runtime, team: SiteTeam) -> None:
    await service.create_endpoint(team.access(), state.engine, url="https://a.example/h")
    async with state.engine.begin() as conn:
        with pytest.raises(ValueError, match=r"unknown webhook event type 'order\.shipped'"):
            await service.emit_event(
                conn, site_id=team.site.id, event_type="order.shipped", data={}
            )
