"""Idempotent POSTs: a request repeated with the same ``Idempotency-Key`` gets the first answer.

The SDK sends a key with every POST and retries on network errors and 5xx, so a retry after a
lost response must not create a second object. As in Stripe's API: keys live 24 hours and belong
to one secret key; reusing a key with a different request is a 422; a retry that arrives while
the first request is still running is a 409. Errors the client caused (4xx) are replayed too;
an unexpected failure frees the key so the retry can run.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from widget_server.api import store
from widget_server.api.auth import api_caller
from widget_server.db.metadata import utcnow
from widget_server.errors import Conflict, VitrineError, invalid
from widget_server.runtime import runtime

KEY_LIFETIME = timedelta(hours=24)
HEADER = "idempotency-key"
Handler = Callable[[Request], Awaitable[Response]]


def idempotent(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return await handler(request)
        if not 1 <= len(key) <= 255:
            raise invalid("Idempotency-Key", "The Idempotency-Key must be 1 to 255 characters.")
        caller = await api_caller(request)
        engine = runtime(request).engine
        digest = hashlib.sha256(
            request.method.encode()
            + b" "
            + request.url.path.encode()
            + b"\n"
            + await request.body()
        ).hexdigest()
        if not await store.claim_key(engine, caller.key.id, key, digest, utcnow()):
            return await _replay(request, caller.key.id, key, digest)
        try:
            response = await handler(request)
        except VitrineError as exc:
            if exc.status >= 500:
                await store.release_key(engine, caller.key.id, key)
                raise
            await store.save_response(engine, caller.key.id, key, exc.status, _error_body(exc))
            raise
        except BaseException:
            await store.release_key(engine, caller.key.id, key)
            raise
        await store.save_response(
            engine, caller.key.id, key, response.status_code, bytes(response.body).decode()
        )
        return response

    return wrapper


def _error_body(exc: VitrineError) -> str:
    return json.dumps(exc.to_dict())


async def _replay(request: Request, api_key_id: int, key: str, digest: str) -> Response:
    stored = await store.stored_response(runtime(request).engine, api_key_id, key)
    if stored is None or stored.status is None:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            code="idempotency_in_progress",
        )
    if stored.request_hash != digest:
        raise invalid(
            "Idempotency-Key",
            "This Idempotency-Key was used with a different request; use a new key.",
            "idempotency_key_reused",
        )
    return Response(
        stored.body,
        status_code=stored.status,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


async def purge_expired(engine: AsyncEngine) -> None:
    await store.purge_keys(engine, utcnow() - KEY_LIFETIME)
