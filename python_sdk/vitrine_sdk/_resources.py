"""API resources, reached as attributes of a client (``client.site``, ``client.webhook_endpoints``).

Each resource comes as a sync and an async class with the same methods; what a call sends and how
its answer is parsed is written once, in the module-level helpers and in ``_models``.
"""

import builtins
from typing import TYPE_CHECKING

from ._models import (
    Site,
    WebhookEndpoint,
    parse_site,
    parse_webhook_endpoint,
    parse_webhook_endpoint_list,
)

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

SITE_PATH = "/api/v2/site"
WEBHOOK_ENDPOINTS_PATH = "/api/v2/webhook_endpoints"


def _webhook_endpoint_path(id: int) -> str:
    # The id goes into the URL path: refuse anything but an integer (no "1/../other").
    if not isinstance(id, int) or isinstance(id, bool):
        raise TypeError(f"a webhook endpoint id is an int, not {type(id).__name__}")
    return f"{WEBHOOK_ENDPOINTS_PATH}/{id}"


def _webhook_endpoint_body(
    url: str, event_types: list[str] | None, description: str
) -> dict[str, object]:
    body: dict[str, object] = {"url": url, "description": description}
    if event_types is not None:  # left out, the server applies its default
        body["event_types"] = list(event_types)
    return body


class SiteResource:
    """The site the secret key belongs to."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def get(self) -> Site:
        return parse_site(self._client._request("GET", SITE_PATH))


class AsyncSiteResource:
    """The site the secret key belongs to."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def get(self) -> Site:
        return parse_site(await self._client._request("GET", SITE_PATH))


class WebhookEndpoints:
    """URLs Vitrine sends signed events to."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def list(self) -> builtins.list[WebhookEndpoint]:
        return parse_webhook_endpoint_list(self._client._request("GET", WEBHOOK_ENDPOINTS_PATH))

    def create(
        self,
        url: str,
        event_types: builtins.list[str] | None = None,
        description: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        """Create an endpoint; the returned object's ``secret`` is shown this once."""
        data = self._client._request(
            "POST",
            WEBHOOK_ENDPOINTS_PATH,
            json=_webhook_endpoint_body(url, event_types, description),
            idempotency_key=idempotency_key,
        )
        return parse_webhook_endpoint(data)

    def get(self, id: int) -> WebhookEndpoint:
        return parse_webhook_endpoint(self._client._request("GET", _webhook_endpoint_path(id)))

    def delete(self, id: int) -> None:
        self._client._request("DELETE", _webhook_endpoint_path(id))


class AsyncWebhookEndpoints:
    """URLs Vitrine sends signed events to."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def list(self) -> builtins.list[WebhookEndpoint]:
        data = await self._client._request("GET", WEBHOOK_ENDPOINTS_PATH)
        return parse_webhook_endpoint_list(data)

    async def create(
        self,
        url: str,
        event_types: builtins.list[str] | None = None,
        description: str = "",
        *,
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        """Create an endpoint; the returned object's ``secret`` is shown this once."""
        data = await self._client._request(
            "POST",
            WEBHOOK_ENDPOINTS_PATH,
            json=_webhook_endpoint_body(url, event_types, description),
            idempotency_key=idempotency_key,
        )
        return parse_webhook_endpoint(data)

    async def get(self, id: int) -> WebhookEndpoint:
        data = await self._client._request("GET", _webhook_endpoint_path(id))
        return parse_webhook_endpoint(data)

    async def delete(self, id: int) -> None:
        await self._client._request("DELETE", _webhook_endpoint_path(id))
