"""API resources, reached as attributes of a client (``client.site``, ``client.events``,
``client.reports``, ``client.webhook_endpoints``, ``client.leads``, ``client.conversations``);
the payments resources live in ``_payments``.

Each resource comes as a sync and an async class with the same methods; what a call sends and how
its answer is parsed is written once, in the module-level helpers and in ``_models``.
"""

import builtins
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

from ._models import (
    Conversation,
    Lead,
    Site,
    SourcesReport,
    WebhookEndpoint,
    parse_conversation,
    parse_lead,
    parse_lead_list,
    parse_site,
    parse_sources_report,
    parse_webhook_endpoint,
    parse_webhook_endpoint_list,
)

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

SITE_PATH = "/api/v2/site"
EVENTS_PATH = "/api/v2/events"
SOURCES_REPORT_PATH = "/api/v2/reports/sources"
WEBHOOK_ENDPOINTS_PATH = "/api/v2/webhook_endpoints"
LEADS_PATH = "/api/v2/leads"
CONVERSATIONS_PATH = "/api/v2/conversations"


def _id_path(base: str, what: str, id: int) -> str:
    # The id goes into the URL path: refuse anything but an integer (no "1/../other").
    if not isinstance(id, int) or isinstance(id, bool):
        raise TypeError(f"a {what} id is an int, not {type(id).__name__}")
    return f"{base}/{id}"


def _limit_params(limit: int | None) -> dict[str, str | int]:
    return {} if limit is None else {"limit": limit}


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


def _event_body(
    name: str, props: Mapping[str, str | int | float | bool] | None, visit: int | None
) -> dict[str, object]:
    body: dict[str, object] = {"name": name}
    if props is not None:
        body["props"] = dict(props)
    if visit is not None:
        body["visit"] = visit
    return body


def _day(name: str, value: date | str | None) -> str | None:
    # A datetime is a date too, but which local day it means depends on a time zone: refuse it.
    if isinstance(value, datetime):
        raise TypeError(f"{name} is a date or 'YYYY-MM-DD', not a datetime")
    return value.isoformat() if isinstance(value, date) else value


def _sources_params(
    from_: date | str | None, to: date | str | None, group_by: str
) -> dict[str, str | int]:
    params: dict[str, str | int] = {"group_by": group_by}
    for name, value in (("from", _day("from_", from_)), ("to", _day("to", to))):
        if value is not None:  # left out, the server uses its default (the last 30 days)
            params[name] = value
    return params


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


class Events:
    """Events that happen in your backend (a paid order, a signed contract)."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def track(
        self,
        name: str,
        props: Mapping[str, str | int | float | bool] | None = None,
        visit: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> None:
        """Record an event, joined to the visit with number ``visit`` when given (conversion
        goals count it for that visit). Returns once Vitrine has accepted it; it shows in
        reports within a few seconds."""
        self._client._request(
            "POST",
            EVENTS_PATH,
            json=_event_body(name, props, visit),
            idempotency_key=idempotency_key,
        )


class AsyncEvents:
    """Events that happen in your backend (a paid order, a signed contract)."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def track(
        self,
        name: str,
        props: Mapping[str, str | int | float | bool] | None = None,
        visit: int | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> None:
        """Record an event, joined to the visit with number ``visit`` when given (conversion
        goals count it for that visit). Returns once Vitrine has accepted it; it shows in
        reports within a few seconds."""
        await self._client._request(
            "POST",
            EVENTS_PATH,
            json=_event_body(name, props, visit),
            idempotency_key=idempotency_key,
        )


class Reports:
    """Counter reports."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def sources(
        self,
        from_: date | str | None = None,
        to: date | str | None = None,
        group_by: str = "channel",
    ) -> SourcesReport:
        """Visits, visitors, pageviews, events and conversions per channel, source, campaign,
        referrer or landing page, for local days ``from_``..``to`` in the site's time zone
        (default: the last 30 days)."""
        params = _sources_params(from_, to, group_by)
        return parse_sources_report(
            self._client._request("GET", SOURCES_REPORT_PATH, params=params)
        )


class AsyncReports:
    """Counter reports."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def sources(
        self,
        from_: date | str | None = None,
        to: date | str | None = None,
        group_by: str = "channel",
    ) -> SourcesReport:
        """Visits, visitors, pageviews, events and conversions per channel, source, campaign,
        referrer or landing page, for local days ``from_``..``to`` in the site's time zone
        (default: the last 30 days)."""
        params = _sources_params(from_, to, group_by)
        data = await self._client._request("GET", SOURCES_REPORT_PATH, params=params)
        return parse_sources_report(data)


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


class Leads:
    """Chats your operators made leads (contact, manager, transcript, source, params)."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def list(self, limit: int | None = None) -> builtins.list[Lead]:
        """Newest first; ``limit`` from 1 to 100 (default 100)."""
        data = self._client._request("GET", LEADS_PATH, params=_limit_params(limit))
        return parse_lead_list(data)

    def get(self, id: int) -> Lead:
        return parse_lead(self._client._request("GET", _id_path(LEADS_PATH, "lead", id)))


class AsyncLeads:
    """Chats your operators made leads (contact, manager, transcript, source, params)."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def list(self, limit: int | None = None) -> builtins.list[Lead]:
        """Newest first; ``limit`` from 1 to 100 (default 100)."""
        data = await self._client._request("GET", LEADS_PATH, params=_limit_params(limit))
        return parse_lead_list(data)

    async def get(self, id: int) -> Lead:
        data = await self._client._request("GET", _id_path(LEADS_PATH, "lead", id))
        return parse_lead(data)


class Conversations:
    """Chat conversations: the messages the visitor saw, the visitor, the visit's source."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def get(self, id: int) -> Conversation:
        path = _id_path(CONVERSATIONS_PATH, "conversation", id)
        return parse_conversation(self._client._request("GET", path))


class AsyncConversations:
    """Chat conversations: the messages the visitor saw, the visitor, the visit's source."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def get(self, id: int) -> Conversation:
        path = _id_path(CONVERSATIONS_PATH, "conversation", id)
        return parse_conversation(await self._client._request("GET", path))
