"""The objects the API returns, and their parsing from JSON.

Parsing ignores fields it does not know, so a newer server does not break an older SDK.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TypeVar

from ._errors import VitrineError

T = TypeVar("T")


@dataclass(frozen=True)
class Site:
    id: int
    key: str
    name: str
    allowed_origins: list[str]
    time_zone: str
    default_language: str
    created_at: datetime


@dataclass(frozen=True)
class WebhookEndpoint:
    id: int
    url: str
    event_types: list[str]
    description: str
    is_active: bool
    created_at: datetime
    # The signing secret is returned once, by create(); keep it out of logs and tracebacks.
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SourcesTotals:
    """The counts of all visits in a Sources report.

    ``conversions`` counts visits with at least one goal event; ``conversion_rate`` is
    conversions per visit, from 0 to 1 (rounded to 4 decimals; 0 without visits).
    """

    visits: int
    visitors: int
    pageviews: int
    events: int
    conversions: int
    conversion_rate: float


@dataclass(frozen=True)
class SourcesRow:
    """One group of a Sources report: a channel, source, campaign, referrer or landing page."""

    key: str
    visits: int
    visitors: int
    pageviews: int
    events: int
    conversions: int
    conversion_rate: float


@dataclass(frozen=True)
class SourcesReport:
    """Visits started from ``from_`` to ``to`` (local days in ``time_zone``, both included),
    grouped by ``group_by``; rows come most visits first."""

    from_: date
    to: date
    time_zone: str
    group_by: str
    rows: list[SourcesRow]
    totals: SourcesTotals


@dataclass(frozen=True)
class Contact:
    """How to reach a chat visitor ("" where they did not say)."""

    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class Operator:
    """A console user: the manager of a lead, the assignee of a conversation."""

    id: int
    name: str
    email: str | None = None


@dataclass(frozen=True)
class ChatMessage:
    """A message the visitor saw: ``from_`` is "visitor", "operator" or "system" (private notes
    never leave Vitrine); ``author`` is the operator's name; ``file`` an attachment's name."""

    seq: int
    from_: str
    author: str
    text: str
    file: str | None
    at: datetime


@dataclass(frozen=True)
class Lead:
    """A chat an operator made a lead: the contact, the manager, the transcript (no notes), the
    visit's source (``number``, ``channel``, ``source``, ``campaign``, … or None) and the custom
    params the page set."""

    id: int
    conversation_id: int
    contact: Contact
    manager: Operator | None
    transcript: list[ChatMessage]
    source: dict[str, object] | None
    params: dict[str, object]
    created_at: datetime


@dataclass(frozen=True)
class ConversationVisitor:
    name: str
    email: str
    phone: str
    verified: bool
    external_id: str | None


@dataclass(frozen=True)
class Conversation:
    """A chat conversation: ``status`` is new, open, pending or resolved; ``messages`` are those
    the visitor saw (no notes); ``visit`` is the source of the visit it started in, or None."""

    id: int
    status: str
    assignee: Operator | None
    rating: int | None
    rating_comment: str | None
    params: dict[str, object]
    page_url: str
    language: str
    created_at: datetime
    updated_at: datetime
    visitor: ConversationVisitor
    visit: dict[str, object] | None
    messages: list[ChatMessage]


@dataclass(frozen=True)
class Offer:
    """What a site sells: ``amount`` in minor units (cents) of ``currency`` (lowercase ISO 4217);
    ``methods`` among card, cash, bank_transfer, pay_later; ``guest_allowed`` says whether the
    direct payment link works without a customer account."""

    slug: str
    name: str
    description: str
    amount: int
    currency: str
    guest_allowed: bool
    success_text: str
    failure_text: str
    methods: list[str]
    bank_instructions: str
    grants: dict[str, object] | None
    customer_fields: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Order:
    """A purchase: ``id`` is a string ("ord_…"); ``status`` is pending, paid, failed, expired,
    partially_refunded or refunded; amounts are in minor units; ``offer`` is the slug of the offer
    bought (None once that offer is deleted); ``fulfilled_at`` is when it was paid (None until
    then); ``updated_at`` moves on with every change of status or refunded amount."""

    id: str
    offer: str | None
    status: str
    amount: int
    currency: str
    refunded_amount: int
    gateway: str
    method: str
    customer_email: str | None
    visit_number: int | None
    metadata: dict[str, object]
    fulfilled_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CheckoutLink:
    """A new pending order and the URL to send its buyer to."""

    url: str
    order: Order


@dataclass(frozen=True)
class PaymentLink:
    """The direct payment link of an offer (``BASE/pay/SITE_KEY/SLUG``); each visit opens a new
    guest order."""

    url: str
    offer: Offer


def parse_site(data: object) -> Site:
    obj = _object(data, "site")
    return Site(
        id=_get(obj, "id", int),
        key=_get(obj, "key", str),
        name=_get(obj, "name", str),
        allowed_origins=_strings(obj, "allowed_origins"),
        time_zone=_get(obj, "time_zone", str),
        default_language=_get(obj, "default_language", str),
        created_at=_datetime(obj, "created_at"),
    )


def parse_webhook_endpoint(data: object) -> WebhookEndpoint:
    obj = _object(data, "webhook endpoint")
    secret = obj.get("secret")
    return WebhookEndpoint(
        id=_get(obj, "id", int),
        url=_get(obj, "url", str),
        event_types=_strings(obj, "event_types"),
        description=_get(obj, "description", str),
        is_active=_get(obj, "is_active", bool),
        created_at=_datetime(obj, "created_at"),
        secret=None if secret is None else _get(obj, "secret", str),
    )


def parse_webhook_endpoint_list(data: object) -> list[WebhookEndpoint]:
    items = _get(_object(data, "webhook endpoint list"), "data", list)
    return [parse_webhook_endpoint(item) for item in items]


def _optional(obj: Mapping[str, object], name: str, kind: type[T]) -> T | None:
    return None if obj.get(name) is None else _get(obj, name, kind)


def _operator(data: object) -> Operator | None:
    if data is None:
        return None
    obj = _object(data, "operator")
    return Operator(
        id=_get(obj, "id", int), name=_get(obj, "name", str), email=_optional(obj, "email", str)
    )


def _chat_message(data: object) -> ChatMessage:
    obj = _object(data, "chat message")
    return ChatMessage(
        seq=_get(obj, "seq", int),
        from_=_get(obj, "from", str),
        author=_get(obj, "author", str),
        text=_get(obj, "text", str),
        file=_optional(obj, "file", str),
        at=_datetime(obj, "at"),
    )


def _mapping(obj: Mapping[str, object], name: str) -> dict[str, object]:
    return dict(_get(obj, name, dict))


def parse_lead(data: object) -> Lead:
    obj = _object(data, "lead")
    contact = _object(obj.get("contact"), "contact")
    source = obj.get("source")
    return Lead(
        id=_get(obj, "id", int),
        conversation_id=_get(obj, "conversation_id", int),
        contact=Contact(
            name=_get(contact, "name", str),
            email=_get(contact, "email", str),
            phone=_get(contact, "phone", str),
        ),
        manager=_operator(obj.get("manager")),
        transcript=[_chat_message(m) for m in _get(obj, "transcript", list)],
        source=None if source is None else _mapping(obj, "source"),
        params=_mapping(obj, "params"),
        created_at=_datetime(obj, "created_at"),
    )


def parse_lead_list(data: object) -> list[Lead]:
    return [parse_lead(item) for item in _get(_object(data, "lead list"), "data", list)]


def parse_conversation(data: object) -> Conversation:
    obj = _object(data, "conversation")
    visitor = _object(obj.get("visitor"), "visitor")
    visit = obj.get("visit")
    return Conversation(
        id=_get(obj, "id", int),
        status=_get(obj, "status", str),
        assignee=_operator(obj.get("assignee")),
        rating=_optional(obj, "rating", int),
        rating_comment=_optional(obj, "rating_comment", str),
        params=_mapping(obj, "params"),
        page_url=_get(obj, "page_url", str),
        language=_get(obj, "language", str),
        created_at=_datetime(obj, "created_at"),
        updated_at=_datetime(obj, "updated_at"),
        visitor=ConversationVisitor(
            name=_get(visitor, "name", str),
            email=_get(visitor, "email", str),
            phone=_get(visitor, "phone", str),
            verified=_get(visitor, "verified", bool),
            external_id=_optional(visitor, "external_id", str),
        ),
        visit=None if visit is None else _mapping(obj, "visit"),
        messages=[_chat_message(m) for m in _get(obj, "messages", list)],
    )


def parse_offer(data: object) -> Offer:
    obj = _object(data, "offer")
    grants = obj.get("grants")
    return Offer(
        slug=_get(obj, "slug", str),
        name=_get(obj, "name", str),
        description=_get(obj, "description", str),
        amount=_get(obj, "amount", int),
        currency=_get(obj, "currency", str),
        guest_allowed=_get(obj, "guest_allowed", bool),
        success_text=_get(obj, "success_text", str),
        failure_text=_get(obj, "failure_text", str),
        methods=_strings(obj, "methods"),
        bank_instructions=_get(obj, "bank_instructions", str),
        grants=None if grants is None else _mapping(obj, "grants"),
        customer_fields=_strings(obj, "customer_fields"),
        active=_get(obj, "active", bool),
        created_at=_datetime(obj, "created_at"),
        updated_at=_datetime(obj, "updated_at"),
    )


def parse_offer_list(data: object) -> list[Offer]:
    return [parse_offer(item) for item in _get(_object(data, "offer list"), "data", list)]


def parse_order(data: object) -> Order:
    obj = _object(data, "order")
    return Order(
        id=_get(obj, "id", str),
        offer=_optional(obj, "offer", str),
        status=_get(obj, "status", str),
        amount=_get(obj, "amount", int),
        currency=_get(obj, "currency", str),
        refunded_amount=_get(obj, "refunded_amount", int),
        gateway=_get(obj, "gateway", str),
        method=_get(obj, "method", str),
        customer_email=_optional(obj, "customer_email", str),
        visit_number=_optional(obj, "visit_number", int),
        metadata=_mapping(obj, "metadata"),
        fulfilled_at=None if obj.get("fulfilled_at") is None else _datetime(obj, "fulfilled_at"),
        created_at=_datetime(obj, "created_at"),
        updated_at=_datetime(obj, "updated_at"),
    )


def parse_order_list(data: object) -> list[Order]:
    return [parse_order(item) for item in _get(_object(data, "order list"), "data", list)]


def parse_order_page(data: object) -> tuple[list[Order], bool]:
    """One page of orders and whether more follow it."""
    return parse_order_list(data), _get(_object(data, "order list"), "has_more", bool)


def parse_checkout_link(data: object) -> CheckoutLink:
    obj = _object(data, "checkout link")
    return CheckoutLink(url=_get(obj, "url", str), order=parse_order(obj.get("order")))


_COUNTS = ("visits", "visitors", "pageviews", "events", "conversions")


def _rate(obj: Mapping[str, object]) -> float:
    value = obj.get("conversion_rate")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise VitrineError(f"expected 'conversion_rate' to be a number, got {value!r}")
    return float(value)


def _sources_row(data: object) -> SourcesRow:
    obj = _object(data, "report row")
    counts = {name: _get(obj, name, int) for name in _COUNTS}
    return SourcesRow(key=_get(obj, "key", str), conversion_rate=_rate(obj), **counts)


def parse_sources_report(data: object) -> SourcesReport:
    obj = _object(data, "sources report")
    totals = _object(obj.get("totals"), "report totals")
    return SourcesReport(
        from_=_date(obj, "from"),
        to=_date(obj, "to"),
        time_zone=_get(obj, "time_zone", str),
        group_by=_get(obj, "group_by", str),
        rows=[_sources_row(row) for row in _get(obj, "rows", list)],
        totals=SourcesTotals(
            conversion_rate=_rate(totals), **{name: _get(totals, name, int) for name in _COUNTS}
        ),
    )


def _object(data: object, what: str) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise VitrineError(f"expected a {what} object from the API, got {type(data).__name__}")
    return data


def _get(obj: Mapping[str, object], name: str, kind: type[T]) -> T:
    value = obj.get(name)
    # bool is an int subclass, but an id of True is a server bug, not an id.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise VitrineError(
            f"expected {name!r} to be {kind.__name__} in the API response, got {value!r}"
        )
    return value


def _strings(obj: Mapping[str, object], name: str) -> list[str]:
    values = _get(obj, name, list)
    if not all(isinstance(value, str) for value in values):
        raise VitrineError(f"expected {name!r} to be a list of strings, got {values!r}")
    return [str(value) for value in values]


def _datetime(obj: Mapping[str, object], name: str) -> datetime:
    text = _get(obj, name, str)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise VitrineError(f"expected {name!r} to be an ISO 8601 time, got {text!r}") from None
    # The API sends an offset; should one ever be missing, read the time as UTC, not local time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _date(obj: Mapping[str, object], name: str) -> date:
    text = _get(obj, name, str)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise VitrineError(f"expected {name!r} to be a date (YYYY-MM-DD), got {text!r}") from None
