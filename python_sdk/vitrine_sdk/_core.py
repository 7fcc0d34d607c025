"""The I/O-free half of Client and AsyncClient: configuration, building requests, deciding on
retries and turning responses into results or errors. The two clients only send and sleep."""

import json as jsonlib
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from . import _retries
from ._errors import (
    REQUEST_ID_HEADER,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    VitrineError,
    status_error_class,
)
from ._version import __version__

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 2

JSONBody = Mapping[str, Any]
QueryParams = Mapping[str, str | int]


class ClientCore:
    """Holds a client's settings and builds its requests."""

    def __init__(self, secret_key: str, *, base_url: str, timeout: float, max_retries: int) -> None:
        if not isinstance(secret_key, str) or not secret_key.strip():
            raise ValueError("secret_key is required: pass your site's secret API key")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, not {base_url!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, not {max_retries!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self._headers = {
            "Authorization": f"Bearer {secret_key}",
            "User-Agent": f"vitrine-sdk-python/{__version__}",
            "Accept": "application/json",
        }

    def build_request(
        self,
        http: httpx.Client | httpx.AsyncClient,
        method: str,
        path: str,
        *,
        json: JSONBody | None,
        params: QueryParams | None,
        idempotency_key: str | None,
    ) -> httpx.Request:
        """One request per logical call: its retries resend it, Idempotency-Key included."""
        headers = dict(self._headers)
        if idempotency_key is None and method == "POST":
            idempotency_key = uuid.uuid4().hex
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return http.build_request(
            method,
            self.base_url + path,
            headers=headers,
            json=json,
            params=params,
            timeout=self.timeout,
        )

    def retry_delay(
        self,
        request: httpx.Request,
        outcome: httpx.Response | httpx.TransportError,
        retries_done: int,
    ) -> float | None:
        return _retries.retry_delay(
            request, outcome, retries_done=retries_done, max_retries=self.max_retries
        )


def connection_error(request: httpx.Request, error: httpx.TransportError) -> APIConnectionError:
    kind = APITimeoutError if isinstance(error, httpx.TimeoutException) else APIConnectionError
    return kind(
        f"{request.method} {request.url} got no response: {type(error).__name__}: {error}",
        should_retry=_retries.is_retryable_error(request, error),
    )


def parse_response(response: httpx.Response) -> object:
    """The decoded JSON body of a successful response (None when empty), else raise."""
    if not response.is_success:
        raise status_error(response)
    if not response.content:
        return None
    try:
        return jsonlib.loads(response.content)
    except ValueError:
        raise VitrineError(
            f"{response.status_code} response is not JSON "
            f"(request id: {response.headers.get(REQUEST_ID_HEADER)})"
        ) from None


def status_error(response: httpx.Response) -> APIStatusError:
    """Map an error response, in Vitrine's error shape or not, to its APIStatusError subclass."""
    body: object
    try:
        body = jsonlib.loads(response.content)
    except ValueError:
        body = response.text
    fields = body.get("error") if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        fields = {}
    code, message, details = fields.get("code"), fields.get("message"), fields.get("details")
    return status_error_class(response.status_code)(
        message if isinstance(message, str) and message else response.reason_phrase,
        response=response,
        body=body,
        code=code if isinstance(code, str) and code else "unknown",
        details=details if isinstance(details, list) else [],
    )
