"""Constructing and closing Client and AsyncClient."""

import httpx
import pytest
from vitrine_sdk import AsyncClient, Client


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(204, headers={"X-Request-Id": "r"})


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
@pytest.mark.parametrize("secret_key", ["", "   "])
def test_a_secret_key_is_required(
    client_class: type[Client | AsyncClient], secret_key: str
) -> None:
    with pytest.raises(ValueError, match="secret_key"):
        client_class(secret_key)


@pytest.mark.parametrize(
    "options",
    [{"base_url": "vitrine.test"}, {"timeout": 0}, {"max_retries": -1}],
)
@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_bad_settings_are_refused(
    client_class: type[Client | AsyncClient], options: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        client_class("sk", **options)  # type: ignore[arg-type]


def test_transport_and_http_client_are_exclusive() -> None:
    with httpx.Client() as http, pytest.raises(ValueError, match="not both"):
        Client("sk", transport=httpx.MockTransport(ok), http_client=http)


def test_base_url_may_have_a_path_and_a_trailing_slash() -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return ok(request)

    with Client(
        "sk", base_url="https://host.test/vitrine/", transport=httpx.MockTransport(record)
    ) as c:
        c.webhook_endpoints.delete(5)
    assert seen == ["https://host.test/vitrine/api/v2/webhook_endpoints/5"]


def test_an_id_must_be_an_int() -> None:
    with Client("sk", transport=httpx.MockTransport(ok)) as client, pytest.raises(TypeError):
        client.webhook_endpoints.get("1/../../site")  # type: ignore[arg-type]


def test_closing_the_client_closes_the_http_client_it_made() -> None:
    with Client("sk", transport=httpx.MockTransport(ok)) as client:
        client.webhook_endpoints.delete(1)
    with pytest.raises(RuntimeError, match="closed"):
        client.webhook_endpoints.delete(1)


@pytest.mark.asyncio
async def test_closing_the_async_client_closes_the_http_client_it_made() -> None:
    async with AsyncClient("sk", transport=httpx.MockTransport(ok)) as client:
        await client.webhook_endpoints.delete(1)
    with pytest.raises(RuntimeError, match="closed"):
        await client.webhook_endpoints.delete(1)


def test_a_callers_http_client_stays_open() -> None:
    with httpx.Client(transport=httpx.MockTransport(ok)) as http:
        with Client("sk", http_client=http) as client:
            client.webhook_endpoints.delete(1)
        assert not http.is_closed


@pytest.mark.asyncio
async def test_a_callers_async_http_client_stays_open() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(ok)) as http:
        async with AsyncClient("sk", http_client=http) as client:
            await client.webhook_endpoints.delete(1)
        assert not http.is_closed
