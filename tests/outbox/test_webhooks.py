"""Webhook delivery to a real loopback receiver: signatures, retries with backoff, failure."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from datetime import timedelta

import httpx
import pytest
from vitrine_sdk import webhooks as sdk_webhooks

from tests.conftest import SiteTeam, create_team, log_in
from tests.outbox.conftest import Receiver
from widget_server.app import create_app
from widget_server.db.metadata import utcnow
from widget_server.errors import Conflict
from widget_server.outbox import delivery, service, webhooks
from widget_server.runtime import Runtime
from widget_server.settings import Settings


async def test_a_webhook_arrives_signed_with_the_endpoint_secret(
    state: Runtime, team: SiteTeam, receiver: Receiver
) -> None:
    endpoint = await service.create_endpoint(team.access(), state.engine, url=receiver.url)
    assert endpoint.secret.startswith("whsec_")
    message_id = await service.send_test_event(team.access(), state.engine, endpoint.id)

    assert await delivery.deliver_due(state) == 1

    (request,) = receiver.requests
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Vitrine-Webhooks/1"
    assert request.headers["vitrine-event"] == "ping"
    assert request.headers["vitrine-delivery"] == str(message_id)
    event = sdk_webhooks.verify(request.body, request.headers["vitrine-signature"], endpoint.secret)
    assert event["type"] == "ping"
    assert event["site"] == team.site.key
    with pytest.raises(sdk_webhooks.WebhookVerificationError):
        sdk_webhooks.verify(request.body, request.headers["vitrine-signature"], "whsec_other")

    message, attempts = await service.message_detail(team.access(), state.engine, message_id)
    assert (message.state, message.attempts, message.last_error) == ("sent", 1, None)
    assert [(a.number, a.ok, a.status_code) for a in attempts] == [(1, True, 200)]
    assert await delivery.deliver_due(state) == 0  # sent once, never again
    assert len(receiver.requests) == 1
    with pytest.raises(Conflict):
        await service.retry_now(team.access(), state.engine, message_id)


async def test_the_background_job_delivers_without_being_asked(
    settings: Settings, receiver: Receiver
) -> None:
    application = create_app(dataclasses.replace(settings, run_jobs=True))
    async with application.router.lifespan_context(application):
        state = application.state.runtime
        team = await create_team(state)
        endpoint = await service.create_endpoint(team.access(), state.engine, url=receiver.url)
        await service.send_test_event(team.access(), state.engine, endpoint.id)
        assert await asyncio.to_thread(receiver.arrived.wait, 15)
    assert len(receiver.requests) == 1


async def test_a_failing_receiver_is_retried_with_backoff_until_failed(
    state: Runtime, team: SiteTeam, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    receiver.status = 500
    endpoint = await service.create_endpoint(team.access(), state.engine, url=receiver.url)
    message_id = await service.send_test_event(team.access(), state.engine, endpoint.id)

    for number, delay in enumerate(webhooks.BACKOFF, start=1):
        before = utcnow()
        assert await delivery.deliver_due(state) == 1
        message, attempts = await service.message_detail(team.access(), state.engine, message_id)
        assert (message.state, message.attempts, len(attempts)) == ("pending", number, number)
        assert before + delay <= message.next_attempt_at <= utcnow() + delay
        assert message.last_error is not None and "HTTP 500" in message.last_error
        assert await delivery.deliver_due(state) == 0  # not due before the backoff ends
        await service.retry_now(team.access(), state.engine, message_id)  # skip the wait

    assert await delivery.deliver_due(state) == 1
    message, attempts = await service.message_detail(team.access(), state.engine, message_id)
    assert (message.state, message.attempts) == ("failed", 8)
    assert [a.number for a in attempts] == list(range(1, 9))
    assert all(not a.ok and a.status_code == 500 for a in attempts)
    assert len({r.headers["vitrine-delivery"] for r in receiver.requests}) == 1
    assert len(receiver.requests) == 8
    assert sum(webhooks.BACKOFF, timedelta()) >= timedelta(hours=6)
    assert await delivery.deliver_due(state) == 0

    # The attempts show in the console.
    await log_in(client, team.owner.email)
    page = await client.get(f"/console/sites/{team.site.key}/outbox/{message_id}")
    assert page.status_code == 200
    rows = re.findall(r'<tr class="attempt">(.*?)</tr>', page.text, re.S)
    assert len(rows) == 8
    assert all("500" in row and "HTTP 500" in row for row in rows)
    assert "Retry now" in page.text
    body = json.dumps(json.loads(message.payload["body"]), indent=2)
    assert body.replace('"', "&#34;") in page.text or body.replace('"', "&quot;") in page.text

    # Retrying a failed message gives it one more attempt.
    receiver.status = 204
    await service.retry_now(team.access(), state.engine, message_id)
    assert await delivery.deliver_due(state) == 1
    message, attempts = await service.message_detail(team.access(), state.engine, message_id)
    assert (message.state, message.attempts, attempts[-1].ok) == ("sent", 9, True)


async def test_an_unreachable_receiver_is_a_failed_attempt(state: Runtime, team: SiteTeam) -> None:
    endpoint = await service.create_endpoint(
        team.access(), state.engine, url="http://127.0.0.1:9/nothing-listens-here"
    )
    message_id = await service.send_test_event(team.access(), state.engine, endpoint.id)
    assert await delivery.deliver_due(state) == 1
    message, (attempt,) = await service.message_detail(team.access(), state.engine, message_id)
    assert (message.state, message.attempts, attempt.ok, attempt.status_code) == (
        "pending",
        1,
        False,
        None,
    )
    assert attempt.error and "Connect" in attempt.error


async def test_queued_deliveries_of_disabled_or_deleted_endpoints_fail(
    state: Runtime, team: SiteTeam, receiver: Receiver
) -> None:
    engine = state.engine
    disabled = await service.create_endpoint(team.access(), engine, url=receiver.url)
    deleted = await service.create_endpoint(team.access(), engine, url=receiver.url + "/2")
    first = await service.send_test_event(team.access(), engine, disabled.id)
    second = await service.send_test_event(team.access(), engine, deleted.id)
    await service.set_endpoint_active(team.access(), engine, disabled.id, False)
    await service.delete_endpoint(team.access(), engine, deleted.id)

    assert await delivery.deliver_due(state) == 2
    assert receiver.requests == []
    for message_id, reason in ((first, "disabled"), (second, "deleted")):
        message, (attempt,) = await service.message_detail(team.access(), engine, message_id)
        assert message.state == "failed"
        assert message.last_error and reason in message.last_error
        assert not attempt.ok
