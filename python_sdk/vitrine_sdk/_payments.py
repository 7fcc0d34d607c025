"""Payments resources: ``client.offers``, ``client.checkout_links``, ``client.payment_links`` and
``client.orders``, each as a sync and an async class with the same methods (as in ``_resources``).
"""

import builtins
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

from ._models import (
    CheckoutLink,
    Offer,
    Order,
    PaymentLink,
    parse_checkout_link,
    parse_offer,
    parse_offer_list,
    parse_order,
    parse_order_list,
    parse_order_page,
)
from ._resources import _limit_params

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

OFFERS_PATH = "/api/v2/offers"
CHECKOUT_LINKS_PATH = "/api/v2/checkout_links"
ORDERS_PATH = "/api/v2/orders"


def _segment(what: str, value: str) -> str:
    # A slug or an order id goes into the URL path: one non-empty segment, escaped.
    if not isinstance(value, str):
        raise TypeError(f"a {what} is a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"a {what} cannot be empty")
    return quote(value, safe="")


def _offer_path(slug: str) -> str:
    return f"{OFFERS_PATH}/{_segment('offer slug', slug)}"


def _order_path(order_id: str, suffix: str = "") -> str:
    return f"{ORDERS_PATH}/{_segment('order id', order_id)}{suffix}"


def _checkout_link_body(
    offer: str,
    customer_email: str | None,
    metadata: Mapping[str, object] | None,
    success_url: str | None,
    cancel_url: str | None,
    visit: int | None,
    language: str | None,
) -> dict[str, object]:
    body: dict[str, object] = {"offer": offer}
    optional: dict[str, object | None] = {
        "customer_email": customer_email,
        "metadata": None if metadata is None else dict(metadata),
        "success_url": success_url,
        "cancel_url": cancel_url,
        "visit": visit,
        "language": language,
    }
    body.update({name: value for name, value in optional.items() if value is not None})
    return body


def _orders_params(
    status: str | None, limit: int | None, starting_after: str | None = None
) -> dict[str, str | int]:
    params = _limit_params(limit)
    if status is not None:
        params["status"] = status
    if starting_after is not None:
        _segment("order id", starting_after)  # the same checks as an id in a path
        params["starting_after"] = starting_after
    return params


def _refund_body(amount: int | None) -> dict[str, object]:
    # Left out, the server refunds what is left.
    return {} if amount is None else {"amount": amount}


def _payment_link(base_url: str, site_key: str, offer: Offer) -> PaymentLink:
    url = f"{base_url}/pay/{_segment('site key', site_key)}/{_segment('offer slug', offer.slug)}"
    return PaymentLink(url=url, offer=offer)


class Offers:
    """What the site sells: ``amount`` in minor units of ``currency``."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def list(self) -> builtins.list[Offer]:
        return parse_offer_list(self._client._request("GET", OFFERS_PATH))

    def get(self, slug: str) -> Offer:
        return parse_offer(self._client._request("GET", _offer_path(slug)))

    def create(self, *, idempotency_key: str | None = None, **fields: object) -> Offer:
        """Create an offer: ``slug``, ``name``, ``amount`` (minor units) and ``currency`` are
        required; ``description``, ``guest_allowed``, ``methods``, ``success_text``,
        ``failure_text``, ``bank_instructions``, ``grants``, ``customer_fields`` and ``active``
        are optional. Every
        bad field is named in the ``UnprocessableEntityError``; a taken slug raises
        ``ConflictError``."""
        data = self._client._request(
            "POST", OFFERS_PATH, json=dict(fields), idempotency_key=idempotency_key
        )
        return parse_offer(data)

    def update(self, slug: str, /, **fields: object) -> Offer:
        """Change the fields given (any of ``create``'s but ``slug``, which cannot change);
        ``active=False`` takes the offer off sale. ``NotFoundError`` for an unknown slug."""
        return parse_offer(self._client._request("PATCH", _offer_path(slug), json=dict(fields)))


class AsyncOffers:
    """What the site sells: ``amount`` in minor units of ``currency``."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def list(self) -> builtins.list[Offer]:
        return parse_offer_list(await self._client._request("GET", OFFERS_PATH))

    async def get(self, slug: str) -> Offer:
        return parse_offer(await self._client._request("GET", _offer_path(slug)))

    async def create(self, *, idempotency_key: str | None = None, **fields: object) -> Offer:
        """Create an offer: ``slug``, ``name``, ``amount`` (minor units) and ``currency`` are
        required; ``description``, ``guest_allowed``, ``methods``, ``success_text``,
        ``failure_text``, ``bank_instructions``, ``grants``, ``customer_fields`` and ``active``
        are optional. Every
        bad field is named in the ``UnprocessableEntityError``; a taken slug raises
        ``ConflictError``."""
        data = await self._client._request(
            "POST", OFFERS_PATH, json=dict(fields), idempotency_key=idempotency_key
        )
        return parse_offer(data)

    async def update(self, slug: str, /, **fields: object) -> Offer:
        """Change the fields given (any of ``create``'s but ``slug``, which cannot change);
        ``active=False`` takes the offer off sale. ``NotFoundError`` for an unknown slug."""
        data = await self._client._request("PATCH", _offer_path(slug), json=dict(fields))
        return parse_offer(data)


class CheckoutLinks:
    """One-off checkouts: a pending order for one buyer and the page where they pay."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def create(
        self,
        offer: str,
        customer_email: str | None = None,
        metadata: Mapping[str, object] | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        visit: int | None = None,
        language: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> CheckoutLink:
        """Open an order for the active offer with slug ``offer`` (``NotFoundError`` otherwise);
        ``visit`` joins it to the visit it came from; ``language`` (``en``, ``fr``, ``ru``) is
        the buyer's, for the payment page and the e-mails. Send the buyer to the returned
        ``url``."""
        body = _checkout_link_body(
            offer, customer_email, metadata, success_url, cancel_url, visit, language
        )
        data = self._client._request(
            "POST", CHECKOUT_LINKS_PATH, json=body, idempotency_key=idempotency_key
        )
        return parse_checkout_link(data)


class AsyncCheckoutLinks:
    """One-off checkouts: a pending order for one buyer and the page where they pay."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def create(
        self,
        offer: str,
        customer_email: str | None = None,
        metadata: Mapping[str, object] | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        visit: int | None = None,
        language: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> CheckoutLink:
        """Open an order for the active offer with slug ``offer`` (``NotFoundError`` otherwise);
        ``visit`` joins it to the visit it came from; ``language`` (``en``, ``fr``, ``ru``) is
        the buyer's, for the payment page and the e-mails. Send the buyer to the returned
        ``url``."""
        body = _checkout_link_body(
            offer, customer_email, metadata, success_url, cancel_url, visit, language
        )
        data = await self._client._request(
            "POST", CHECKOUT_LINKS_PATH, json=body, idempotency_key=idempotency_key
        )
        return parse_checkout_link(data)


class PaymentLinks:
    """Direct payment links: one URL per offer, to put on a page or in an email."""

    def __init__(self, client: "Client") -> None:
        self._client = client
        self._site_key: str | None = None

    def create(self, offer: str) -> PaymentLink:
        """The direct link of offer ``offer`` (``BASE/pay/SITE_KEY/SLUG``); each visit of it opens
        a new guest order. Raises ``NotFoundError`` when the site has no such offer. Visitors get
        a 404 from the link while the offer is inactive or does not allow paying without an
        account (``guest_allowed`` false). Nothing is created on the server."""
        found = parse_offer(self._client._request("GET", _offer_path(offer)))
        if self._site_key is None:
            self._site_key = self._client.site.get().key
        return _payment_link(self._client._core.base_url, self._site_key, found)


class AsyncPaymentLinks:
    """Direct payment links: one URL per offer, to put on a page or in an email."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client
        self._site_key: str | None = None

    async def create(self, offer: str) -> PaymentLink:
        """The direct link of offer ``offer`` (``BASE/pay/SITE_KEY/SLUG``); each visit of it opens
        a new guest order. Raises ``NotFoundError`` when the site has no such offer. Visitors get
        a 404 from the link while the offer is inactive or does not allow paying without an
        account (``guest_allowed`` false). Nothing is created on the server."""
        found = parse_offer(await self._client._request("GET", _offer_path(offer)))
        if self._site_key is None:
            self._site_key = (await self._client.site.get()).key
        return _payment_link(self._client._core.base_url, self._site_key, found)


class Orders:
    """Purchases of the site's offers, whichever way they were paid."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    def list(
        self,
        status: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> builtins.list[Order]:
        """One page, newest first; ``status`` filters (pending, paid, failed, expired,
        partially_refunded, refunded); ``limit`` from 1 to 100 (default 50); ``starting_after``
        (an order id, usually the last of the previous page) starts after that order."""
        params = _orders_params(status, limit, starting_after)
        return parse_order_list(self._client._request("GET", ORDERS_PATH, params=params))

    def iter(self, status: str | None = None, page_size: int = 100) -> Iterator[Order]:
        """Every order, newest first, fetched a page of ``page_size`` at a time as you go."""
        after: str | None = None
        while True:
            params = _orders_params(status, page_size, after)
            page, has_more = parse_order_page(
                self._client._request("GET", ORDERS_PATH, params=params)
            )
            yield from page
            if not has_more or not page:
                return
            after = page[-1].id

    def get(self, order_id: str) -> Order:
        return parse_order(self._client._request("GET", _order_path(order_id)))

    def refund(
        self, order_id: str, amount: int | None = None, *, idempotency_key: str | None = None
    ) -> Order:
        """Refund ``amount`` minor units of a paid order (default: all that is left); returns the
        order, now partially_refunded or refunded. More than what is left raises
        ``UnprocessableEntityError`` naming ``amount``; an unpaid or already fully refunded order
        raises ``ConflictError``."""
        data = self._client._request(
            "POST",
            _order_path(order_id, "/refund"),
            json=_refund_body(amount),
            idempotency_key=idempotency_key,
        )
        return parse_order(data)


class AsyncOrders:
    """Purchases of the site's offers, whichever way they were paid."""

    def __init__(self, client: "AsyncClient") -> None:
        self._client = client

    async def list(
        self,
        status: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> builtins.list[Order]:
        """One page, newest first; ``status`` filters (pending, paid, failed, expired,
        partially_refunded, refunded); ``limit`` from 1 to 100 (default 50); ``starting_after``
        (an order id, usually the last of the previous page) starts after that order."""
        params = _orders_params(status, limit, starting_after)
        return parse_order_list(await self._client._request("GET", ORDERS_PATH, params=params))

    async def iter(self, status: str | None = None, page_size: int = 100) -> AsyncIterator[Order]:
        """Every order, newest first, fetched a page of ``page_size`` at a time as you go."""
        after: str | None = None
        while True:
            params = _orders_params(status, page_size, after)
            page, has_more = parse_order_page(
                await self._client._request("GET", ORDERS_PATH, params=params)
            )
            for order in page:
                yield order
            if not has_more or not page:
                return
            after = page[-1].id

    async def get(self, order_id: str) -> Order:
        return parse_order(await self._client._request("GET", _order_path(order_id)))

    async def refund(
        self, order_id: str, amount: int | None = None, *, idempotency_key: str | None = None
    ) -> Order:
        """Refund ``amount`` minor units of a paid order (default: all that is left); returns the
        order, now partially_refunded or refunded. More than what is left raises
        ``UnprocessableEntityError`` naming ``amount``; an unpaid or already fully refunded order
        raises ``ConflictError``."""
        data = await self._client._request(
            "POST",
            _order_path(order_id, "/refund"),
            json=_refund_body(amount),
            idempotency_key=idempotency_key,
        )
        return parse_order(data)
