"""A scripted network for the SDK's transport-level tests (test modules use the fixtures only:
importing this module by name would clash with other directories' conftest.py).

``httpx.MockTransport`` stands in for the network only: it answers each request with the next
scripted response (or raises the next scripted transport error) and records what was sent. The
``sdk`` fixture runs every test that uses it twice, once with ``Client`` and once with
``AsyncClient``, and records the backoff delays instead of sleeping them.
"""

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from vitrine_sdk import AsyncClient, Client

SECRET_KEY = "sk_test_123"
BASE_URL = "https://vitrine.test"


class ScriptedNetwork:
    def __init__(self, steps: list[httpx.Response | Exception]) -> None:
        self.steps = steps
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"unexpected extra request: {request.method} {request.url}")
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


class SDK:
    """One Client or AsyncClient on a scripted network, driven the same way whichever it is."""

    secret_key = SECRET_KEY
    base_url = BASE_URL

    def __init__(self, kind: str, steps: list[httpx.Response | Exception], **options: Any):
        self.network = ScriptedNetwork(steps)
        self.sleeps: list[float] = []
        transport = httpx.MockTransport(self.network)
        self.client: Client | AsyncClient
        if kind == "sync":
            self.client = Client(SECRET_KEY, base_url=BASE_URL, transport=transport, **options)
            self.client._sleep = self.sleeps.append
        else:
            self.client = AsyncClient(SECRET_KEY, base_url=BASE_URL, transport=transport, **options)

            async def sleep(seconds: float) -> None:
                self.sleeps.append(seconds)

            self.client._sleep = sleep

    @property
    def requests(self) -> list[httpx.Request]:
        return self.network.requests

    async def call(self, use: Callable[[Any], Any]) -> Any:
        """``use(client)``, awaited when the client is async."""
        result = use(self.client)
        return await result if inspect.isawaitable(result) else result

    async def close(self) -> None:
        if isinstance(self.client, AsyncClient):
            await self.client.aclose()
        else:
            self.client.close()


SDKFactory = Callable[..., SDK]


@pytest_asyncio.fixture(params=["sync", "async"])
async def sdk(request: pytest.FixtureRequest) -> AsyncIterator[SDKFactory]:
    """``sdk(*steps, **client_options)`` builds a client of the kind under test."""
    made: list[SDK] = []

    def make(*steps: httpx.Response | Exception, **options: Any) -> SDK:
        made.append(SDK(request.param, list(steps), **options))
        return made[-1]

    yield make
    for each in made:
        await each.close()
