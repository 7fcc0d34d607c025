"""Webhooks on the wire: the event types a site can subscribe to, signing, and one HTTP POST.

Every delivery is a POST of the event's JSON body with these headers::

    Content-Type: application/json
    User-Agent: Vitrine-Webhooks/1
    Vitrine-Event: <event type>
    Vitrine-Delivery: <outbox id>            (the same on every retry of one delivery)
    Vitrine-Signature: t=<unix>,v1=<hex>     (HMAC-SHA256 of "<t>.<body>", fresh t per attempt)

A 2xx answer is success; anything else, a redirect included, is a failed attempt.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx

from widget_server.errors import InvalidRequest, field_error
from widget_server.i18n import _
from widget_server.outbox.store import AttemptResult

SECRET_PREFIX = "whsec_"  # noqa: S105 (a marker, not a secret)
TIMEOUT_SECONDS = 10.0
USER_AGENT = "Vitrine-Webhooks/1"
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 255
_ERROR_BODY_CHARS = 300

# Event type -> what it means. The descriptions are wrapped with _() so the catalogs pick them
# up; at import time they are English, and pages translate them when they show them.
EVENT_TYPES: dict[str, str] = {
    "ping": _("A test event sent from the console to check that an endpoint works."),
    "lead.created": _("An operator made a chat conversation a lead (contact, transcript, source)."),
    "order.paid": _("An order was paid (fulfilment runs once, at that moment)."),
    "order.refunded": _("An order was refunded, fully or in part."),
    "order.failed": _("A payment failed (a delayed payment was declined)."),
    "access.granted": _("A customer was given access to what they paid for."),
    "access.revoked": _("A customer's access was taken back (refund or by hand)."),
}


# The wait after the 1st, 2nd, … failed attempt (8 attempts in about 6 h).
BACKOFF = tuple(timedelta(seconds=s) for s in (30, 120, 600, 1800, 3600, 7200, 9000))


def clean_endpoint(
    url: object, event_types: object, description: object
) -> tuple[str, list[str], str]:
    """An endpoint's URL, event types and description, checked; every problem is reported at
    once (InvalidRequest with one detail per field). Event types come back in registry order."""
    details: list[dict[str, Any]] = []
    if not isinstance(url, str) or not url.strip():
        details.append(field_error("url", _("Enter the URL that receives the events."), "required"))
        url = ""
    else:
        url = url.strip()
        parts = urlsplit(url)
        if len(url) > MAX_URL_LENGTH:
            message = _("The URL must be at most {n} characters.").format(n=MAX_URL_LENGTH)
            details.append(field_error("url", message, "too_long"))
        elif parts.scheme not in ("http", "https") or not parts.hostname or not _port_ok(parts):
            message = _(
                "Enter an absolute http:// or https:// URL, such as "
                "https://shop.example.com/vitrine/webhooks."
            )
            details.append(field_error("url", message))
    types: list[str] = []
    if not isinstance(event_types, list) or not all(isinstance(t, str) for t in event_types):
        details.append(field_error("event_types", _("Event types must be a list of names.")))
    else:
        unknown = [name for name in event_types if name not in EVENT_TYPES]
        if unknown:
            message = _("Unknown event types: {names}. Known types: {known}.").format(
                names=", ".join(unknown), known=", ".join(EVENT_TYPES)
            )
            details.append(field_error("event_types", message, "unknown"))
        types = [name for name in EVENT_TYPES if name in event_types]
    if not isinstance(description, str):
        details.append(field_error("description", _("The description must be text.")))
        description = ""
    elif len(description.strip()) > MAX_DESCRIPTION_LENGTH:
        message = _("The description must be at most {n} characters.").format(
            n=MAX_DESCRIPTION_LENGTH
        )
        details.append(field_error("description", message, "too_long"))
    if details:
        raise InvalidRequest(" ".join(d["message"] for d in details), details=details)
    return url, types, description.strip()


def _port_ok(parts: SplitResult) -> bool:
    try:
        return parts.port is None or parts.port > 0
    except ValueError:  # not a number, or over 65535
        return False


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature_header(secret: str, body: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def new_client() -> httpx.AsyncClient:
    # trust_env: an installation behind an outbound proxy sets HTTPS_PROXY as usual.
    return httpx.AsyncClient(
        timeout=httpx.Timeout(TIMEOUT_SECONDS), follow_redirects=False, trust_env=True
    )


async def post(
    client: httpx.AsyncClient,
    *,
    url: str,
    body: str,
    secret: str,
    event_type: str,
    delivery_id: int,
) -> AttemptResult:
    """One delivery attempt; never raises for what the receiver or the network does."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Vitrine-Event": event_type,
        "Vitrine-Delivery": str(delivery_id),
        "Vitrine-Signature": signature_header(secret, body, int(time.time())),
    }
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            async with client.stream("POST", url, content=body.encode(), headers=headers) as reply:
                if 200 <= reply.status_code < 300:
                    return AttemptResult(ok=True, status_code=reply.status_code)
                excerpt = await _excerpt(reply)
                error = f"HTTP {reply.status_code} {reply.reason_phrase}".strip()
                if excerpt:
                    error += f": {excerpt}"
                return AttemptResult(ok=False, status_code=reply.status_code, error=error)
    except (TimeoutError, httpx.TimeoutException):
        return AttemptResult(ok=False, error=f"No answer within {TIMEOUT_SECONDS:.0f} s.")
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return AttemptResult(ok=False, error=f"{type(exc).__name__}: {exc}".rstrip(": "))


async def _excerpt(reply: httpx.Response) -> str:
    """The start of the receiver's answer, for the delivery log."""
    chunks = b""
    async for chunk in reply.aiter_bytes():
        chunks += chunk
        if len(chunks) >= _ERROR_BODY_CHARS:
            break
    text = chunks[:_ERROR_BODY_CHARS].decode("utf-8", errors="replace")
    return " ".join(text.split())
