"""Publish/subscribe and presence: in-process by default, Redis when ``VITRINE_REDIS_URL`` is set.

Several server processes behind a load balancer share one Redis, so a message published by one
reaches subscribers in every other; presence entries expire on their own (TTL) when a process
dies without saying goodbye.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, Protocol

import redis.asyncio as aioredis

Message = dict[str, Any]


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[Message]: ...


class Bus(Protocol):
    async def publish(self, channel: str, message: Message) -> None: ...

    def subscribe(self, channel: str) -> Any:
        """``async with bus.subscribe(ch) as messages: async for m in messages: …``"""

    async def set_presence(self, group: str, member: str, ttl: float) -> None: ...

    async def clear_presence(self, group: str, member: str) -> None: ...

    async def present(self, group: str) -> set[str]: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class _Queue:
    def __init__(self, queue: asyncio.Queue[Message]) -> None:
        self._queue = queue

    async def __aiter__(self) -> AsyncIterator[Message]:
        while True:
            yield await self._queue.get()


class LocalBus:
    """Everything in this process's memory: right for one process, useless across several."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Message]]] = defaultdict(set)
        self._presence: dict[str, dict[str, float]] = defaultdict(dict)

    async def publish(self, channel: str, message: Message) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            queue.put_nowait(message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[_Queue]:
        queue: asyncio.Queue[Message] = asyncio.Queue()
        self._subscribers[channel].add(queue)
        try:
            yield _Queue(queue)
        finally:
            self._subscribers[channel].discard(queue)
            if not self._subscribers[channel]:
                del self._subscribers[channel]

    async def set_presence(self, group: str, member: str, ttl: float) -> None:
        self._presence[group][member] = time.monotonic() + ttl

    async def clear_presence(self, group: str, member: str) -> None:
        self._presence[group].pop(member, None)

    async def present(self, group: str) -> set[str]:
        now = time.monotonic()
        members = self._presence.get(group, {})
        for member in [m for m, until in members.items() if until <= now]:
            del members[member]
        return set(members)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._subscribers.clear()


class _RedisSubscription:
    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    async def __aiter__(self) -> AsyncIterator[Message]:
        async for raw in self._pubsub.listen():
            if raw.get("type") == "message":
                data = json.loads(raw["data"])
                if isinstance(data, list):  # messages published together (``RedisBus.publish``)
                    for message in data:
                        yield message
                else:
                    yield data


class RedisBus:
    """Redis pub/sub for messages; a sorted set per group (score = expiry time) for presence.

    One publish is under way at a time per bus. What callers publish meanwhile waits and then
    leaves together: one pipeline, one PUBLISH per channel, whose payload is a JSON list when
    it carries several messages. So a burst (a group commit's worth of chat messages) costs
    one round trip and one delivery to each subscribing process instead of one each, and
    messages reach subscribers in the order they were published, which concurrent publishes
    on separate pooled connections would not guarantee."""

    def __init__(self, url: str, prefix: str = "vitrine:") -> None:
        self._redis: aioredis.Redis = aioredis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._busy = False  # a publish is under way
        self._queued: list[tuple[str, str, asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def publish(self, channel: str, message: Message) -> None:
        """Returns once Redis has taken the message, or raises what sending it raised. A caller
        cancelled while its message waits does not take it back: it is sent with the rest."""
        payload = json.dumps(message)
        if self._busy:
            sent = asyncio.get_running_loop().create_future()
            self._queued.append((self._prefix + channel, payload, sent))
            await sent
            return
        self._busy = True
        try:
            await self._redis.publish(self._prefix + channel, payload)
        finally:
            if self._queued:  # the sender stays busy until nothing is left
                self._sender = asyncio.create_task(self._send_queued())
            else:
                self._busy = False

    async def _send_queued(self) -> None:
        try:
            while self._queued:
                queued, self._queued = self._queued, []
                channels: dict[str, list[str]] = {}
                for channel, payload, _sent in queued:
                    channels.setdefault(channel, []).append(payload)
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for channel, payloads in channels.items():
                            many = "[" + ",".join(payloads) + "]"
                            pipe.publish(channel, payloads[0] if len(payloads) == 1 else many)
                        await pipe.execute()
                except Exception as exc:
                    for _channel, _payload, sent in queued:
                        if not sent.done():
                            sent.set_exception(exc)
                except BaseException:  # cancelled (the loop is closing): nothing more goes out
                    for _channel, _payload, sent in queued + self._queued:
                        sent.cancel()
                    self._queued = []
                    raise
                else:
                    for _channel, _payload, sent in queued:
                        if not sent.done():
                            sent.set_result(None)
        finally:
            self._busy = False

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[_RedisSubscription]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._prefix + channel)
        try:
            yield _RedisSubscription(pubsub)
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def set_presence(self, group: str, member: str, ttl: float) -> None:
        key = self._prefix + "presence:" + group
        await self._redis.zadd(key, {member: time.time() + ttl})

    async def clear_presence(self, group: str, member: str) -> None:
        await self._redis.zrem(self._prefix + "presence:" + group, member)

    async def present(self, group: str) -> set[str]:
        key = self._prefix + "presence:" + group
        now = time.time()
        await self._redis.zremrangebyscore(key, "-inf", now)
        return set(await self._redis.zrangebyscore(key, now, "+inf"))

    async def ping(self) -> bool:
        answer: Awaitable[bool] = self._redis.ping()  # type: ignore[assignment]
        return bool(await answer)

    async def close(self) -> None:
        if self._sender is not None:
            with contextlib.suppress(Exception):
                await self._sender  # what was queued goes out first
        await self._redis.aclose()


def create_bus(redis_url: str | None) -> LocalBus | RedisBus:
    return RedisBus(redis_url) if redis_url else LocalBus()
