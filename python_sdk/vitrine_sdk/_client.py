"""Client and AsyncClient: the same API, over a blocking or an asyncio httpx client.

Everything but sending and sleeping lives in ``_core`` and ``_retries``, so the two loops below
are the only code that differs; keep them line for line alike.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

import httpx

from ._access import Access, AsyncAccess
from ._core import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ClientCore,
    JSONBody,
    QueryParams,
    connection_error,
    parse_response,
)
from ._payments import (
    AsyncCheckoutLinks,
    AsyncOffers,
    AsyncOrders,
    AsyncPaymentLinks,
    CheckoutLinks,
    Offers,
    Orders,
    PaymentLinks,
)
from ._resources import (
    AsyncConversations,
    AsyncEvents,
    AsyncLeads,
    AsyncReports,
    AsyncSiteResource,
    AsyncWebhookEndpoints,
    Conversations,
    Events,
    Leads,
    Reports,
    SiteResource,
    WebhookEndpoints,
)


class Client:
    """Blocking client for the Vitrine REST API.

    Pass ``transport`` to route requests elsewhere (e.g. ``httpx.MockTransport``), or a ready
    ``http_client``, which the caller keeps ownership of: ``close()`` leaves it open.
    """

    def __init__(
        self,
        secret_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        if transport is not None and http_client is not None:
            raise ValueError("pass either transport or http_client, not both")
        self._core = ClientCore(
            secret_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        self._owns_http_client = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(transport=transport)
        self._sleep: Callable[[float], None] = time.sleep
        self.site = SiteResource(self)
        self.events = Events(self)
        self.reports = Reports(self)
        self.webhook_endpoints = WebhookEndpoints(self)
        self.leads = Leads(self)
        self.conversations = Conversations(self)
        self.offers = Offers(self)
        self.checkout_links = CheckoutLinks(self)
        self.payment_links = PaymentLinks(self)
        self.orders = Orders(self)
        self.access = Access(self)

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: JSONBody | None = None,
        params: QueryParams | None = None,
        idempotency_key: str | None = None,
    ) -> object:
        """Send one logical call, retrying it as ``_retries`` allows; return the JSON body."""
        request = self._core.build_request(
            self._http, method, path, json=json, params=params, idempotency_key=idempotency_key
        )
        retries_done = 0
        while True:
            try:
                response = self._http.send(request)
            except httpx.TransportError as error:
                delay = self._core.retry_delay(request, error, retries_done)
                if delay is None:
                    raise connection_error(request, error) from error
            else:
                delay = self._core.retry_delay(request, response, retries_done)
                if delay is None:
                    return parse_response(response)
            self._sleep(delay)
            retries_done += 1

    def close(self) -> None:
        if self._owns_http_client:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient:
    """Asyncio client for the Vitrine REST API; the async twin of ``Client``.

    Pass ``transport`` to route requests elsewhere (e.g. ``httpx.ASGITransport(app)``), or a ready
    ``http_client``, which the caller keeps ownership of: ``aclose()`` leaves it open.
    """

    def __init__(
        self,
        secret_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if transport is not None and http_client is not None:
            raise ValueError("pass either transport or http_client, not both")
        self._core = ClientCore(
            secret_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        self._owns_http_client = http_client is None
        self._http = (
            http_client if http_client is not None else httpx.AsyncClient(transport=transport)
        )
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.site = AsyncSiteResource(self)
        self.events = AsyncEvents(self)
        self.reports = AsyncReports(self)
        self.webhook_endpoints = AsyncWebhookEndpoints(self)
        self.leads = AsyncLeads(self)
        self.conversations = AsyncConversations(self)
        self.offers = AsyncOffers(self)
        self.checkout_links = AsyncCheckoutLinks(self)
        self.payment_links = AsyncPaymentLinks(self)
        self.orders = AsyncOrders(self)
        self.access = AsyncAccess(self)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: JSONBody | None = None,
        params: QueryParams | None = None,
        idempotency_key: str | None = None,
    ) -> object:
        """Send one logical call, retrying it as ``_retries`` allows; return the JSON body."""
        request = self._core.build_request(
            self._http, method, path, json=json, params=params, idempotency_key=idempotency_key
        )
        retries_done = 0
        while True:
            try:
                response = await self._http.send(request)
            except httpx.TransportError as error:
                delay = self._core.retry_delay(request, error, retries_done)
                if delay is None:
                    raise connection_error(request, error) from error
            else:
                delay = self._core.retry_delay(request, response, retries_done)
                if delay is None:
                    return parse_response(response)
            await self._sleep(delay)
            retries_done += 1

    async def aclose(self) -> None:
        if self._owns_http_client:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
