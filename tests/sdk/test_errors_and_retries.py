"""Transport-level behaviour of Client and AsyncClient: retries, backoff, idempotency keys and the
mapping of failures to exceptions. Each test runs once per client kind (see conftest.py)."""

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import vitrine_sdk
from vitrine_sdk import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    VitrineError,
)

SITE = {
    "id": 7,
    "key": "k7",
    "name": "Shop",
    "allowed_origins": ["https://shop.test"],
    "time_zone": "Europe/Paris",
    "default_language": "fr",
    "created_at": "2024-05-01T12:00:00+00:00",
}
ENDPOINT = {
    "id": 3,
    "url": "https://shop.test/hooks",
    "event_types": ["order.paid"],
    "description": "",
    "is_active": True,
    "created_at": "2024-05-01T12:00:00Z",
    "secret": "whsec_1",
}


def answer(
    status: int, body: Any = None, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A response as the Vitrine server sends it: JSON, error shape on failure, a request id."""
    if body is None and status >= 400:
        body = {
            "error": {
                "status": status,
                "code": f"code_{status}",
                "message": "Nope.",
                "details": [{"field": "url"}],
            }
        }
    return httpx.Response(
        status, json=body, headers={"X-Request-Id": f"req_{status}", **(headers or {})}
    )


SDKFactory = Callable[..., Any]  # the `sdk` fixture from conftest.py


def get_site(client: Any) -> Any:
    return client.site.get()


def create_endpoint(client: Any, **options: Any) -> Any:
    return client.webhook_endpoints.create("https://shop.test/hooks", ["order.paid"], **options)


def backoff_range(retries_done: int) -> tuple[float, float]:
    """The documented backoff: 0.5 s doubling, capped at 8 s, shortened by up to 25 % jitter."""
    full = min(8.0, 0.5 * 2**retries_done)
    return 0.75 * full, full


# --- requests -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_sends_the_secret_key_user_agent_and_json(sdk: SDKFactory) -> None:
    api = sdk(answer(201, ENDPOINT))
    await api.call(create_endpoint)
    [request] = api.requests
    assert request.url == f"{api.base_url}/api/v2/webhook_endpoints"
    assert request.headers["Authorization"] == f"Bearer {api.secret_key}"
    assert request.headers["User-Agent"] == f"vitrine-sdk-python/{vitrine_sdk.__version__}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "url": "https://shop.test/hooks",
        "event_types": ["order.paid"],
        "description": "",
    }


@pytest.mark.asyncio
async def test_get_carries_no_idempotency_key(sdk: SDKFactory) -> None:
    api = sdk(answer(200, SITE))
    await api.call(get_site)
    assert "Idempotency-Key" not in api.requests[0].headers


# --- retries --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_retries_a_503_then_returns_the_answer(sdk: SDKFactory) -> None:
    api = sdk(answer(503), answer(200, SITE))
    site = await api.call(get_site)
    assert site.id == 7
    assert len(api.requests) == 2
    [delay] = api.sleeps
    low, high = backoff_range(0)
    assert low <= delay <= high


@pytest.mark.asyncio
async def test_backoff_doubles_up_to_eight_seconds(sdk: SDKFactory) -> None:
    api = sdk(*[answer(500)] * 6, answer(200, SITE), max_retries=6)
    await api.call(get_site)
    assert len(api.sleeps) == 6
    for retries_done, delay in enumerate(api.sleeps):
        low, high = backoff_range(retries_done)
        assert low <= delay <= high, (retries_done, delay)
    assert api.sleeps[-1] <= 8.0 < 2 * api.sleeps[-2]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "retry_after", "expected_delay"),
    [(429, "3", 3.0), (503, "1.5", 1.5), (429, "0", 0.0), (429, "120", 60.0)],
)
async def test_retry_after_is_honoured_up_to_a_minute(
    sdk: SDKFactory, status: int, retry_after: str, expected_delay: float
) -> None:
    api = sdk(answer(status, headers={"Retry-After": retry_after}), answer(200, SITE))
    await api.call(get_site)
    assert api.sleeps == [expected_delay]


@pytest.mark.asyncio
async def test_a_retry_after_that_is_not_seconds_falls_back_to_backoff(sdk: SDKFactory) -> None:
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    api = sdk(answer(429, headers={"Retry-After": date}), answer(200, SITE))
    await api.call(get_site)
    [delay] = api.sleeps
    low, high = backoff_range(0)
    assert low <= delay <= high


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
async def test_client_errors_are_not_retried(sdk: SDKFactory, status: int) -> None:
    api = sdk(answer(status))
    with pytest.raises(APIStatusError):
        await api.call(get_site)
    assert len(api.requests) == 1
    assert api.sleeps == []


@pytest.mark.asyncio
async def test_gives_up_after_max_retries(sdk: SDKFactory) -> None:
    api = sdk(answer(503), answer(502), answer(500))
    with pytest.raises(InternalServerError) as caught:
        await api.call(get_site)
    assert caught.value.status == 500  # the last answer is the one reported
    assert len(api.requests) == 3  # the first try and max_retries=2 retries
    assert len(api.sleeps) == 2


@pytest.mark.asyncio
async def test_max_retries_zero_disables_retries(sdk: SDKFactory) -> None:
    api = sdk(answer(503), max_retries=0)
    with pytest.raises(InternalServerError):
        await api.call(get_site)
    assert len(api.requests) == 1
    assert api.sleeps == []


# --- idempotency keys -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_post_keeps_its_idempotency_key_across_retries(sdk: SDKFactory) -> None:
    api = sdk(answer(503), answer(429), answer(201, ENDPOINT), answer(201, ENDPOINT))
    await api.call(create_endpoint)
    first_call_keys = {request.headers["Idempotency-Key"] for request in api.requests}
    assert len(api.requests) == 3
    [key] = first_call_keys
    assert re.fullmatch(r"[0-9a-f]{32}", key)

    await api.call(create_endpoint)
    assert api.requests[3].headers["Idempotency-Key"] != key


@pytest.mark.asyncio
async def test_a_callers_idempotency_key_is_used_on_every_try(sdk: SDKFactory) -> None:
    api = sdk(answer(500), answer(201, ENDPOINT))
    await api.call(lambda client: create_endpoint(client, idempotency_key="order-42"))
    assert [r.headers["Idempotency-Key"] for r in api.requests] == ["order-42", "order-42"]


# --- connection errors ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_connection_error_is_retried(sdk: SDKFactory) -> None:
    api = sdk(httpx.ConnectError("refused"), answer(200, SITE))
    assert (await api.call(get_site)).id == 7
    assert len(api.requests) == 2


@pytest.mark.asyncio
async def test_persistent_connection_errors_raise_api_connection_error(sdk: SDKFactory) -> None:
    api = sdk(*[httpx.ConnectError("refused")] * 3)
    with pytest.raises(APIConnectionError) as caught:
        await api.call(create_endpoint)
    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.should_retry is True
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(api.requests) == 3


@pytest.mark.asyncio
async def test_timeouts_raise_api_timeout_error(sdk: SDKFactory) -> None:
    api = sdk(*[httpx.ReadTimeout("slow")] * 3)
    with pytest.raises(APITimeoutError) as caught:
        await api.call(get_site)
    assert isinstance(caught.value, APIConnectionError)
    assert caught.value.should_retry is True
    assert len(api.requests) == 3


@pytest.mark.asyncio
async def test_an_error_a_retry_cannot_fix_is_raised_at_once(sdk: SDKFactory) -> None:
    api = sdk(httpx.UnsupportedProtocol("no such scheme"))
    with pytest.raises(APIConnectionError) as caught:
        await api.call(get_site)
    assert caught.value.should_retry is False
    assert len(api.requests) == 1


# --- error mapping --------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
    ],
)
async def test_error_statuses_map_to_subclasses(
    sdk: SDKFactory, status: int, error_class: type[APIStatusError]
) -> None:
    api = sdk(answer(status), max_retries=0)
    with pytest.raises(error_class) as caught:
        await api.call(get_site)
    error = caught.value
    assert (error.status, error.code, error.message) == (status, f"code_{status}", "Nope.")
    assert error.details == [{"field": "url"}]
    assert error.request_id == f"req_{status}"
    assert f"(request id: req_{status})" in str(error)
    assert str(error).startswith(f"{status} code_{status}: Nope.")


@pytest.mark.asyncio
async def test_an_unlisted_status_raises_the_base_class(sdk: SDKFactory) -> None:
    api = sdk(answer(418))
    with pytest.raises(APIStatusError) as caught:
        await api.call(get_site)
    assert type(caught.value) is APIStatusError
    assert caught.value.status == 418


@pytest.mark.asyncio
async def test_a_non_json_error_body_still_maps_to_its_subclass(sdk: SDKFactory) -> None:
    page = "<html><body>Bad gateway</body></html>"
    api = sdk(httpx.Response(502, text=page, headers={"X-Request-Id": "req_proxy"}), max_retries=0)
    with pytest.raises(InternalServerError) as caught:
        await api.call(get_site)
    error = caught.value
    assert (error.status, error.code, error.message) == (502, "unknown", "Bad Gateway")
    assert error.body == page
    assert "(request id: req_proxy)" in str(error)


@pytest.mark.asyncio
async def test_rate_limit_error_tells_how_long_to_wait(sdk: SDKFactory) -> None:
    api = sdk(answer(429, headers={"Retry-After": "30"}), max_retries=0)
    with pytest.raises(RateLimitError) as caught:
        await api.call(get_site)
    assert caught.value.retry_after == 30.0


@pytest.mark.asyncio
async def test_a_success_that_is_not_json_raises_vitrine_error(sdk: SDKFactory) -> None:
    api = sdk(httpx.Response(200, text="<html>login</html>", headers={"X-Request-Id": "r1"}))
    with pytest.raises(VitrineError, match=r"not JSON \(request id: r1\)"):
        await api.call(get_site)
