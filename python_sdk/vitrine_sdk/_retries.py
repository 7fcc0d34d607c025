"""The retry rule shared by Client and AsyncClient: whether to retry, and how long to wait first.

A call is retried only when repeating it cannot do anything twice: the method is idempotent
(GET, DELETE, ...) or the request carries an ``Idempotency-Key`` (every POST the SDK sends does),
or the connection failed before the request could reach the server. Within that, it is retried
on 429 and 5xx answers and on transient network errors and timeouts.
"""

import math
import random
from collections.abc import Callable

import httpx

INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Failures before a single byte of the request was sent: a retry cannot duplicate anything.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def is_retry_safe(request: httpx.Request) -> bool:
    return request.method in _IDEMPOTENT_METHODS or "Idempotency-Key" in request.headers


def is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def is_retryable_error(request: httpx.Request, error: httpx.TransportError) -> bool:
    if not isinstance(error, _TRANSIENT_ERRORS):
        return False  # e.g. an unsupported URL scheme: trying again cannot help
    return isinstance(error, _NOT_SENT_ERRORS) or is_retry_safe(request)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header, or None when absent or not a number of seconds."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def backoff_delay(retries_done: int, jitter: float) -> float:
    """0.5 s, 1 s, 2 s, ... capped at 8 s, each shortened by up to a quarter (jitter in [0, 1))."""
    return min(MAX_DELAY, INITIAL_DELAY * 2.0**retries_done) * (1 - jitter / 4)


def retry_delay(
    request: httpx.Request,
    outcome: httpx.Response | httpx.TransportError,
    *,
    retries_done: int,
    max_retries: int,
    jitter: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before sending ``request`` again, or None when it must not be retried."""
    if retries_done >= max_retries:
        return None
    if isinstance(outcome, httpx.TransportError):
        if not is_retryable_error(request, outcome):
            return None
    else:
        if not (is_retryable_status(outcome.status_code) and is_retry_safe(request)):
            return None
        retry_after = parse_retry_after(outcome.headers.get("Retry-After"))
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
    return backoff_delay(retries_done, jitter())
