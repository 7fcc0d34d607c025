"""``POST /t/{site_key}``: the hit endpoint, the hottest path of the service.

Every page view of every site comes here, so it is a pure ASGI middleware placed first in the
app: it answers hits before the session, language and routing layers, which pages need and hits
do not (bench/ingest.py measures the difference). Everything else passes through untouched.

A hit is checked in this order, and every refusal is a 4xx in the one error shape
(``errors.VitrineError.to_dict``), carrying ``Access-Control-Allow-Origin`` whenever the Origin
is allowed, so the script can read it:

1. unknown site key → 404;
2. ``Origin`` not one of the site's allowed origins → 403 (``https://*.example.com`` entries
   allow subdomains);
3. over the per-IP rate limit (``ratelimit.py``: 120 hits per 10 s per address) → 429 with
   ``Retry-After``;
4. body over 4096 bytes, declared or sent → 413;
5. not a JSON object → 400; broken rules (``hits.py``) → 422 with one detail per field;
6. the buffer is full (the database has been down for a while) → 429 "busy, retry".

Accepted hits that start a new visit (no ``v``, or one never issued for the site) answer
``200 {"v": <visit number>}``; those that continue a visit (a ``v`` the site issued) answer
``204`` with no body: one socket write instead of two, and nothing the script needs (it keeps
the number it sent). Hits dropped on purpose (bots, excluded addresses) follow the same rule, so
the script cannot tell them from stored ones. ``OPTIONS`` answers 204 with the CORS headers.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from widget_server.counter import hits, service
from widget_server.counter.state import SiteConfig
from widget_server.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    VitrineError,
)
from widget_server.i18n import _
from widget_server.runtime import Runtime

PREFIX = "/t/"
Headers = list[tuple[bytes, bytes]]
_JSON = [(b"content-type", b"application/json"), (b"x-content-type-options", b"nosniff")]


class HitEndpoint:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        method = scope.get("method")
        key = path[len(PREFIX) :]
        if (
            scope["type"] != "http"
            or not path.startswith(PREFIX)
            or method not in ("POST", "OPTIONS")
            or not key
            or "/" in key
        ):
            await self.app(scope, receive, send)
            return
        state: Runtime = scope["app"].state.runtime
        headers = _headers(scope)
        found, site = state.counter.cached_site(key)
        if not found:
            site = await service.site_config(state, key)
        origin = headers.get(b"origin", "")
        cors: Headers = []
        if site is not None and site.allows(origin):
            cors = [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin")]
        if method == "OPTIONS":
            await _options(send, site, cors)
            return
        try:
            number, new = await _hit(state, site, scope, headers, cors, receive)
        except VitrineError as exc:
            await _error(send, exc, cors)
            return
        if new:
            await _respond(send, 200, b'{"v":%d}' % number, [*_JSON, *cors])
        else:
            await _no_content(send, cors)


def _headers(scope: Scope) -> dict[bytes, str]:
    wanted = (b"origin", b"content-length", b"user-agent")
    return {name: value.decode("latin-1") for name, value in scope["headers"] if name in wanted}


async def _hit(
    state: Runtime,
    site: SiteConfig | None,
    scope: Scope,
    headers: dict[bytes, str],
    cors: Headers,
    receive: Receive,
) -> tuple[int, bool]:
    if site is None:
        raise NotFound(_("Unknown site."))
    if not cors:
        raise Forbidden(_("This origin is not one of the site's allowed origins."))
    client = scope.get("client")
    ip = client[0] if client else ""
    wait = state.counter.limiter.wait_for(ip)
    if wait:
        raise TooManyRequests(_("Too many hits from this address."), retry_after=wait)
    hit = hits.parse_hit(await _body(headers, receive))
    user_agent = headers.get(b"user-agent", "")
    return await service.record_hit(state, site, hit, ip=ip, user_agent=user_agent)


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(_("A hit must be at most {count} bytes.").format(count=hits.MAX_BODY))


async def _body(headers: dict[bytes, str], receive: Receive) -> bytes:
    """The request body, refused with 413 past ``hits.MAX_BODY`` bytes (declared or sent)."""
    declared = headers.get(b"content-length", "")
    if declared.isdigit() and int(declared) > hits.MAX_BODY:
        raise _too_large()
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body += message.get("body", b"")
        if len(body) > hits.MAX_BODY:
            raise _too_large()
        if not message.get("more_body", False):
            break
    return body


async def _options(send: Send, site: SiteConfig | None, cors: Headers) -> None:
    if site is None:
        await _error(send, NotFound(_("Unknown site.")), [])
        return
    allowed = [
        (b"access-control-allow-methods", b"POST, OPTIONS"),
        (b"access-control-allow-headers", b"Content-Type"),
        (b"access-control-max-age", b"86400"),
    ]
    await _respond(send, 204, b"", [*allowed, *cors])


async def _error(send: Send, exc: VitrineError, cors: Headers) -> None:
    extra = [(name.lower().encode(), value.encode()) for name, value in exc.headers.items()]
    body = json.dumps(exc.to_dict()).encode()
    await _respond(send, exc.status, body, [*_JSON, *extra, *cors])


async def _no_content(send: Send, headers: Headers) -> None:
    """``204`` with no body and no ``Content-Length`` (RFC 9110 §8.6): uvicorn then writes the
    head alone and nothing for the empty body."""
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _respond(send: Send, status: int, body: bytes, headers: Headers) -> None:
    start: dict[str, Any] = {
        "type": "http.response.start",
        "status": status,
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
