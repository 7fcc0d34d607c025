"""Several server processes share one database: every message is delivered exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter

from starlette.applications import Starlette

from tests.conftest import SiteTeam
from tests.outbox.conftest import Receiver
from widget_server.app import create_app
from widget_server.outbox import delivery, service
from widget_server.runtime import Runtime
from widget_server.settings import Settings

N = 40


async def test_two_apps_deliver_each_webhook_exactly_once(
    app: Starlette, state: Runtime, settings: Settings, team: SiteTeam, receiver: Receiver
) -> None:
    endpoint = await service.create_endpoint(team.access(), state.engine, url=receiver.url)
    ids = {
        await service.send_test_event(team.access(), state.engine, endpoint.id) for _ in range(N)
    }
    other_app = create_app(settings)  # a second process: its own engine on the same database
    async with other_app.router.lifespan_context(other_app):
        other = other_app.state.runtime
        assert other.engine is not state.engine

        async def work(runtime: Runtime) -> int:
            done = 0
            while True:
                claimed = await delivery.deliver_due(runtime, batch=4)
                done += claimed
                if claimed == 0:
                    return done
                await asyncio.sleep(0)

        done = await asyncio.gather(*(work(s) for s in (state, other, state, other)))

    assert sum(done) == N
    deliveries = Counter(r.headers["vitrine-delivery"] for r in receiver.requests)
    unsent = await service.list_messages(
        team.access(), state.engine, kind=None, state="pending", page=1
    )
    assert [(m.id, m.last_error) for m in unsent.messages] == []  # why one was not delivered
    assert set(deliveries) == {str(i) for i in ids}
    assert set(deliveries.values()) == {1}
    page = await service.list_messages(team.access(), state.engine, kind=None, state="sent", page=1)
    assert len(page.messages) == N
