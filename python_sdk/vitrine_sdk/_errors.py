"""Every exception the SDK raises on purpose derives from VitrineError:

VitrineError
├── APIConnectionError              no response at all; ``should_retry`` says a retry is safe
│   └── APITimeoutError                 the request timed out
├── APIStatusError                  the API answered with an error: ``status``, ``code``,
│   │                               ``message``, ``details``, ``request_id``, ``body``, ``response``
│   ├── BadRequestError                 400
│   ├── AuthenticationError             401
│   ├── PermissionDeniedError           403
│   ├── NotFoundError                   404
│   ├── ConflictError                   409
│   ├── PayloadTooLargeError            413
│   ├── UnprocessableEntityError        422
│   ├── RateLimitError                  429, with ``retry_after``
│   └── InternalServerError             5xx
└── WebhookVerificationError        a webhook did not verify; ``reason`` says why

Other error statuses raise APIStatusError itself.
"""

from typing import Any

import httpx

from ._retries import parse_retry_after

REQUEST_ID_HEADER = "X-Request-Id"


class VitrineError(Exception):
    """Base class of the SDK's exceptions."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIConnectionError(VitrineError):
    """The request got no HTTP response (connection refused or reset, DNS failure, timeout).

    ``should_retry`` is True when sending the same call again can neither duplicate its effect
    nor be expected to fail the same way.
    """

    def __init__(self, message: str, *, should_retry: bool) -> None:
        super().__init__(message)
        self.should_retry = should_retry


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class APIStatusError(VitrineError):
    """The API answered with a 4xx or 5xx status.

    ``code`` and ``details`` come from the error body; when the body is not Vitrine's JSON error
    shape (say, a proxy's HTML page) ``code`` is ``"unknown"`` and ``body`` holds the raw text.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object,
        code: str = "unknown",
        details: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.response = response
        self.body = body
        self.status = response.status_code
        self.code = code
        self.details: list[Any] = details if details is not None else []
        self.request_id: str | None = response.headers.get(REQUEST_ID_HEADER)

    def __str__(self) -> str:
        request_id = f"request id: {self.request_id}" if self.request_id else "no request id"
        return f"{self.status} {self.code}: {self.message} ({request_id})"


class BadRequestError(APIStatusError):
    """400: the request is malformed."""


class AuthenticationError(APIStatusError):
    """401: the secret key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but may not do this."""


class NotFoundError(APIStatusError):
    """404: no such object (or not on this site)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state (or reuses an idempotency key)."""


class PayloadTooLargeError(APIStatusError):
    """413: the request body is too large."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed but its values are invalid; see ``details``."""


class RateLimitError(APIStatusError):
    """429: too many requests."""

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked us to wait, from ``Retry-After``, if it said."""
        return parse_retry_after(self.response.headers.get("Retry-After"))


class InternalServerError(APIStatusError):
    """5xx: the server failed; retrying later may help."""


class WebhookVerificationError(VitrineError):
    """A webhook's signature, timestamp or body was not acceptable.

    ``reason`` is one of ``missing_header``, ``malformed_header``, ``no_signature``,
    ``signature_mismatch``, ``timestamp_outside_tolerance``, ``invalid_payload``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


_ERRORS_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    if status >= 500:
        return InternalServerError
    return _ERRORS_BY_STATUS.get(status, APIStatusError)
