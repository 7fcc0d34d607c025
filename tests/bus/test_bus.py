"""Publish/subscribe and presence behave the same in-process and over Redis; over Redis, two
buses (two server processes) see each other's messages and presence."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from widget_server.bus import LocalBus, Message, RedisBus

AnyBus = LocalBus | RedisBus


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
async def bus_pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[AnyBus, AnyBus]]:
    """Two buses that should behave as one: the same object in-process, two clients on Redis."""
    if request.param == "local":
        local = LocalBus()
        yield local, local
        await local.close()
        return
    url = request.getfixturevalue("redis_url")
    prefix = f"vitrine-test-{secrets.token_hex(4)}:"
    first, second = RedisBus(url, prefix=prefix), RedisBus(url, prefix=prefix)
    yield first, second
    await first.close()
    await second.close()


async def _receive(bus: AnyBus, channel: str, ready: asyncio.Event, count: int) -> list[Message]:
    received: list[Message] = []
    async with bus.subscribe(channel) as messages:
        ready.set()
        async for message in messages:
            received.append(message)
            if len(received) == count:
                return received
    return received


async def test_a_message_reaches_every_subscriber(bus_pair: tuple[AnyBus, AnyBus]) -> None:
    publisher, subscriber = bus_pair
    ready_a, ready_b = asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(_receive(subscriber, "site:1", ready_a, 2))
    b = asyncio.create_task(_receive(publisher, "site:1", ready_b, 2))
    await asyncio.wait_for(asyncio.gather(ready_a.wait(), ready_b.wait()), 5)
    await publisher.publish("site:1", {"n": 1})
    await publisher.publish("site:2", {"n": "elsewhere"})
    await publisher.publish("site:1", {"n": 2})
    assert await asyncio.wait_for(a, 5) == [{"n": 1}, {"n": 2}]
    assert await asyncio.wait_for(b, 5) == [{"n": 1}, {"n": 2}]


async def test_presence_expires_by_itself(bus_pair: tuple[AnyBus, AnyBus]) -> None:
    first, second = bus_pair
    await first.set_presence("operators:1", "ann", ttl=0.3)
    await second.set_presence("operators:1", "bob", ttl=30)
    assert await second.present("operators:1") == {"ann", "bob"}
    await asyncio.sleep(0.5)
    assert await first.present("operators:1") == {"bob"}
    await second.clear_presence("operators:1", "bob")
    assert await first.present("operators:1") == set()


async def test_ping(bus_pair: tuple[AnyBus, AnyBus]) -> None:
    assert await bus_pair[0].ping()
