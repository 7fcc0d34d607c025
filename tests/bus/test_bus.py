"""Publish/subscribe and presence behave the same in-process and over Redis; over Redis, two
buses (two server processes) see each other's messages and presence."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

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


@pytest.mark.redis
async def test_what_is_published_meanwhile_leaves_together_and_in_order(redis_url: str) -> None:
    """While one publish is under way, the others queue; they go out as one Redis message per
    channel, and every subscriber still sees each message, in the order published."""
    import redis.asyncio as aioredis

    prefix = f"vitrine-test-{secrets.token_hex(4)}:"
    bus, other = RedisBus(redis_url, prefix=prefix), RedisBus(redis_url, prefix=prefix)
    raw = aioredis.from_url(redis_url, decode_responses=True)
    pubsub = raw.pubsub()
    await pubsub.subscribe(prefix + "site:1")
    ready = asyncio.Event()
    received = asyncio.create_task(_receive(other, "site:1", ready, 30))
    await asyncio.wait_for(ready.wait(), 5)
    try:
        await asyncio.gather(*(bus.publish("site:1", {"n": n}) for n in range(30)))
        assert await asyncio.wait_for(received, 5) == [{"n": n} for n in range(30)]
        payloads = []
        while (raw_message := await pubsub.get_message(timeout=0.5)) is not None:
            if raw_message["type"] == "message":
                payloads.append(raw_message["data"])
        assert [json.loads(payload) for payload in payloads] == [
            {"n": 0},
            [{"n": n} for n in range(1, 30)],
        ]
    finally:
        await pubsub.aclose()
        await raw.aclose()
        await bus.close()
        await other.close()


async def test_a_failed_publish_fails_every_message_that_waited_for_it() -> None:
    bus = RedisBus("redis://127.0.0.1:9/0")  # nothing listens on the discard port
    results = await asyncio.wait_for(
        asyncio.gather(
            *(bus.publish("site:1", {"n": n}) for n in range(5)), return_exceptions=True
        ),
        10,
    )
    assert all(isinstance(result, RedisConnectionError) for result in results), results
    with pytest.raises(RedisConnectionError):  # and the next one tries again
        await bus.publish("site:1", {"n": 5})
    await bus.close()
