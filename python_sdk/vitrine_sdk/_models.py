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
