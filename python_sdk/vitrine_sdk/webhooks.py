"""Verify (and, for tests, sign) the webhooks Vitrine sends.

Every webhook carries a ``Vitrine-Signature`` header ``t=<unix time>,v1=<hex>[,v1=<hex>...]``:
``v1`` is the HMAC-SHA256, keyed with the endpoint's secret, of ``"<t>.<raw body>"``. While a
secret is being rotated the header carries one ``v1`` per secret, and any one may match.

Pass ``verify`` the raw body exactly as received, before any JSON parsing or re-encoding::

    event = webhooks.verify(request_body, request.headers.get(webhooks.SIGNATURE_HEADER), secret)
"""

import hashlib
import hmac
import json
import time
from typing import Any

from ._errors import WebhookVerificationError

__all__ = ["DEFAULT_TOLERANCE", "SIGNATURE_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "Vitrine-Signature"
DEFAULT_TOLERANCE = 300
_SCHEME = "v1"


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """A ``Vitrine-Signature`` header value for ``payload``, signed now or at ``timestamp``."""
    t = str(int(time.time()) if timestamp is None else timestamp)
    return f"t={t},{_SCHEME}={_signature(t, _as_bytes(payload), secret)}"


def verify(
    payload: bytes | str,
    header: str | None,
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a webhook's signature and age and return its JSON payload.

    Raises WebhookVerificationError, whose ``reason`` says what was wrong. (An empty ``secret``
    is a configuration bug, not a bad webhook: it raises ValueError, as it does in ``sign``.)
    """
    if not header or not header.strip():
        raise WebhookVerificationError(f"no {SIGNATURE_HEADER} header", reason="missing_header")
    t, seconds, signatures = _parse_header(header)
    if not signatures:
        raise WebhookVerificationError(
            f"{SIGNATURE_HEADER} header has no {_SCHEME} signature", reason="no_signature"
        )
    body = _as_bytes(payload)
    expected = _signature(t, body, secret).encode()
    # Compare against every candidate (no early exit) in constant time.
    matches = [
        hmac.compare_digest(expected, candidate.encode(errors="replace"))
        for candidate in signatures
    ]
    if not any(matches):
        raise WebhookVerificationError(
            "no signature matches the payload and secret", reason="signature_mismatch"
        )
    age = (time.time() if now is None else now) - seconds
    if abs(age) > tolerance:
        raise WebhookVerificationError(
            f"timestamp is {age:.0f} s from now, more than the {tolerance} s allowed",
            reason="timestamp_outside_tolerance",
        )
    try:
        event = json.loads(body)
    except ValueError:  # includes bodies that are not UTF-8
        event = None
    if not isinstance(event, dict):
        raise WebhookVerificationError("payload is not a JSON object", reason="invalid_payload")
    return event


def _parse_header(header: str) -> tuple[str, int, list[str]]:
    """The timestamp, as signed and as a number, and the v1 signatures (other schemes ignored)."""
    timestamp: str | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise _malformed(f"item {item.strip()!r} is not key=value")
        if key == "t":
            if timestamp is not None or not (value.isascii() and value.isdigit()):
                raise _malformed("needs exactly one t=<unix time>")
            timestamp = value
        elif key == _SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise _malformed("has no t=<unix time>")
    try:
        seconds = int(timestamp)
    except ValueError:  # more digits than int() will read
        raise _malformed("has an impossible timestamp") from None
    return timestamp, seconds, signatures


def _malformed(problem: str) -> WebhookVerificationError:
    return WebhookVerificationError(
        f"{SIGNATURE_HEADER} header {problem}", reason="malformed_header"
    )


def _signature(timestamp: str, body: bytes, secret: str) -> str:
    if not secret:  # anyone can compute an HMAC keyed with ""
        raise ValueError("the webhook endpoint's secret is empty")
    signed = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _as_bytes(payload: bytes | str) -> bytes:
    return payload.encode() if isinstance(payload, str) else payload
