"""Report queries: visits with their pageviews, events, conversions, paid orders and revenue,
grouped by a dimension.

Every object in Vitrine that comes from a visit stores the visit number, and ``(site_id,
number)`` is the join key of every report. A report is one statement:

    WITH in_range AS (the site's visits started in the range: number, visitor_id, started_at, key)
    SELECT key, count(*) AS visits, count(DISTINCT visitor_id) AS visitors,
           sum(pageviews.value), sum(events.value), sum(conversions.value),
           sum(paid_orders.value)
    FROM in_range
    LEFT JOIN (SELECT visit_number AS number, count(*) AS value FROM pageviews … GROUP BY 1) …
    LEFT JOIN (… one per-visit aggregate per column …)
    GROUP BY key
    UNION ALL the same without GROUP BY (the totals; distinct visitors cannot be summed)
    UNION ALL the revenue rows (below)

Each per-visit aggregate yields at most one row per visit number, so joining several never
multiplies rows. To add a column (chats, tickets), write one more function like ``_pageviews``
that returns ``(number, value)`` per visit of ``in_range`` and list it in ``_per_visit``; the sum
of its value per group becomes the new column of ``Counts``.

Revenue is the exception: it is a sum per currency, so no single per-visit value can hold it. It
comes in the same statement as more UNION ALL rows, ``(key, currency, revenue)`` per group and
per currency (then once more without the key, for the totals), whose count columns are zero; the
rows of the counts have no currency. An order belongs to the visit whose number it carries, so
the period applies to when that visit started, not to when the order was paid; orders without
a visit number belong to no group. Paid orders are those ever paid (``fulfilled_at`` is set,
refunded ones included); revenue is what they kept, ``amount - refunded_amount``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Integer,
    Select,
    Subquery,
    and_,
    case,
    column,
    func,
    literal,
    null,
    select,
    union_all,
    values,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from widget_server.counter.tables import counter_settings, events, pageviews, visits
from widget_server.db.metadata import UTCDateTime
from widget_server.payments.tables import orders


@dataclass(frozen=True)
class Counts:
    """The sums of one group (or of all visits, for the totals)."""

    visits: int
    visitors: int
    pageviews: int
    events: int
    conversions: int
    paid_orders: int
    revenue: Mapping[str, int]  # currency -> minor units kept (paid minus refunded), by code

    @property
    def conversion_rate(self) -> float:
        """Converted visits per visit, 0 to 1 (4 decimals); 0 without visits."""
        return round(self.conversions / self.visits, 4) if self.visits else 0.0


@dataclass(frozen=True)
class Grouped:
    rows: list[tuple[str, Counts]]  # visits desc, then key (by code point)
    totals: Counts


@dataclass(frozen=True)
class DayCounts:
    visits: int
    conversions: int


def _nonempty(value: ColumnElement[Any]) -> ColumnElement[bool]:
    return and_(value.is_not(None), value != "")


def _source() -> ColumnElement[Any]:
    return case(
        (_nonempty(visits.c.utm_source), visits.c.utm_source),
        (_nonempty(visits.c.referrer_domain), visits.c.referrer_domain),
        else_=literal("(direct)"),
    )


def _or_none(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((_nonempty(value), value), else_=literal("(none)"))


GROUP_KEYS: dict[str, Callable[[], ColumnElement[Any]]] = {
    "channel": lambda: visits.c.channel,
    "source": _source,
    "campaign": lambda: _or_none(visits.c.utm_campaign),
    "referrer": lambda: _or_none(visits.c.referrer_domain),
    "landing": lambda: visits.c.landing_path,
}


async def goals(conn: AsyncConnection, site_id: int) -> list[str]:
    """The event names the site counts as conversions (none until its counter is configured)."""
    query = select(counter_settings.c.goals).where(counter_settings.c.site_id == site_id)
    found = await conn.scalar(query)
    return [name for name in found or [] if isinstance(name, str)]


def _in_range(site_id: int, start: datetime, end: datetime, key: ColumnElement[Any]) -> CTE:
    return (
        select(
            visits.c.number,
            visits.c.visitor_id,
            visits.c.started_at,
            key.label("key"),
        )
        .where(
            visits.c.site_id == site_id,
            visits.c.started_at >= start,
            visits.c.started_at < end,
        )
        .cte("in_range")
    )


# --- per-visit aggregates: (number, value), at most one row per visit of in_range -------------


def _pageviews(site_id: int, in_range: CTE, goal_names: Sequence[str]) -> Subquery:
    return (
        select(pageviews.c.visit_number.label("number"), func.count().label("value"))
        .where(
            pageviews.c.site_id == site_id,
            pageviews.c.visit_number.in_(select(in_range.c.number)),
        )
        .group_by(pageviews.c.visit_number)
        .subquery("pageviews_per_visit")
    )


def _events(site_id: int, in_range: CTE, goal_names: Sequence[str]) -> Subquery:
    return (
        select(events.c.visit_number.label("number"), func.count().label("value"))
        .where(events.c.site_id == site_id, events.c.visit_number.in_(select(in_range.c.number)))
        .group_by(events.c.visit_number)
        .subquery("events_per_visit")
    )


def _conversions(site_id: int, in_range: CTE, goal_names: Sequence[str]) -> Subquery:
    """1 for a visit with at least one goal event."""
    return (
        select(events.c.visit_number.label("number"), literal(1, Integer).label("value"))
        .where(
            events.c.site_id == site_id,
            events.c.visit_number.in_(select(in_range.c.number)),
            events.c.name.in_(list(goal_names)),
        )
        .group_by(events.c.visit_number)
        .subquery("conversions_per_visit")
    )


def _paid(site_id: int, in_range: CTE) -> ColumnElement[bool]:
    """The site's orders that were ever paid, from visits of ``in_range``."""
    return and_(
        orders.c.site_id == site_id,
        orders.c.visit_number.in_(select(in_range.c.number)),
        orders.c.fulfilled_at.is_not(None),
    )


def _paid_orders(site_id: int, in_range: CTE, goal_names: Sequence[str]) -> Subquery:
    return (
        select(orders.c.visit_number.label("number"), func.count().label("value"))
        .where(_paid(site_id, in_range))
        .group_by(orders.c.visit_number)
        .subquery("paid_orders_per_visit")
    )


PerVisit = Callable[[int, CTE, Sequence[str]], Subquery]
# Column name in Counts -> its per-visit aggregate. Add chats, tickets here.
_per_visit: dict[str, PerVisit] = {
    "pageviews": _pageviews,
    "events": _events,
    "conversions": _conversions,
    "paid_orders": _paid_orders,
}
# The integer columns of Counts, in the order of the statement's columns.
_COUNTED = ("visits", "visitors", *_per_visit)


def _grouped(
    in_range: CTE, joined: dict[str, Subquery], key: ColumnElement[Any] | None
) -> Select[Any]:
    source: Any = in_range
    for aggregate in joined.values():
        source = source.outerjoin(aggregate, aggregate.c.number == in_range.c.number)
    columns: list[ColumnElement[Any]] = [
        (key if key is not None else null()).label("key"),
        literal(0 if key is not None else 1, Integer).label("is_total"),
        null().label("currency"),
        func.count().label("visits"),
        func.count(in_range.c.visitor_id.distinct()).label("visitors"),
        *(
            func.coalesce(func.sum(aggregate.c.value), 0).label(name)
            for name, aggregate in joined.items()
        ),
        literal(0, Integer).label("revenue"),
    ]
    query = select(*columns).select_from(source)
    return query.group_by(key) if key is not None else query


def _revenue(site_id: int, in_range: CTE, key: ColumnElement[Any] | None) -> Select[Any]:
    """Rows ``(key, currency, revenue)``: what the paid orders of each group kept, per currency;
    the count columns are zero, so that the rows stack under ``_grouped``'s."""
    kept = (
        select(
            orders.c.visit_number.label("number"),
            orders.c.currency,
            (orders.c.amount - orders.c.refunded_amount).label("kept"),
        )
        .where(_paid(site_id, in_range))
        .subquery("kept")
    )
    columns: list[ColumnElement[Any]] = [
        (key if key is not None else null()).label("key"),
        literal(0 if key is not None else 1, Integer).label("is_total"),
        kept.c.currency.label("currency"),
        *(literal(0, Integer).label(name) for name in _COUNTED),
        func.sum(kept.c.kept).label("revenue"),
    ]
    query = select(*columns).select_from(in_range.join(kept, kept.c.number == in_range.c.number))
    return query.group_by(*([key] if key is not None else []), kept.c.currency)


async def grouped(
    conn: AsyncConnection,
    *,
    site_id: int,
    start: datetime,
    end: datetime,
    group_by: str,
    goal_names: Sequence[str],
) -> Grouped:
    """Visits started in ``[start, end)`` with their counts and the revenue of their paid
    orders, per group and in total."""
    in_range = _in_range(site_id, start, end, GROUP_KEYS[group_by]())
    joined = {name: make(site_id, in_range, goal_names) for name, make in _per_visit.items()}
    report = union_all(
        _grouped(in_range, joined, in_range.c.key),
        _grouped(in_range, joined, None),
        _revenue(site_id, in_range, in_range.c.key),
        _revenue(site_id, in_range, None),
    ).subquery("report")
    counted: dict[str | None, dict[str, int]] = {None: dict.fromkeys(_COUNTED, 0)}
    revenue: dict[str | None, dict[str, int]] = {}
    for row in await conn.execute(select(report)):
        group = None if row.is_total else str(row.key)
        if row.currency is None:
            counted[group] = {name: int(getattr(row, name)) for name in _COUNTED}
        else:
            revenue.setdefault(group, {})[str(row.currency)] = int(row.revenue)

    def counts(group: str | None) -> Counts:
        return Counts(**counted[group], revenue=dict(sorted(revenue.get(group, {}).items())))

    rows = [(group, counts(group)) for group in counted if group is not None]
    # Sorted here, not in SQL: PostgreSQL's collation would order keys unlike SQLite's.
    rows.sort(key=lambda item: (-item[1].visits, item[0]))
    return Grouped(rows=rows, totals=counts(None))


async def daily(
    conn: AsyncConnection,
    *,
    site_id: int,
    days: Sequence[tuple[datetime, datetime]],
    goal_names: Sequence[str],
) -> list[DayCounts]:
    """Visits and converted visits per day; ``days`` are consecutive UTC bounds, one per local
    day (computed by the caller with zoneinfo, so DST days of 23 or 25 hours come out right).
    Days without visits are in the answer with zeros."""
    if not days:
        return []
    day_table = (
        values(
            column("day", Integer),
            column("day_start", UTCDateTime),
            column("day_end", UTCDateTime),
            name="days",
        )
        .data([(index, start, end) for index, (start, end) in enumerate(days)])
        .cte("days")
    )
    in_range = _in_range(site_id, days[0][0], days[-1][1], literal(""))
    converted = _conversions(site_id, in_range, goal_names)
    per_visit = (
        select(
            in_range.c.started_at,
            func.coalesce(converted.c.value, 0).label("converted"),
            in_range.c.number,
        )
        .select_from(in_range.outerjoin(converted, converted.c.number == in_range.c.number))
        .subquery("per_visit")
    )
    query = (
        select(
            day_table.c.day,
            func.count(per_visit.c.number).label("visits"),
            func.coalesce(func.sum(per_visit.c.converted), 0).label("conversions"),
        )
        .select_from(
            day_table.outerjoin(
                per_visit,
                and_(
                    per_visit.c.started_at >= day_table.c.day_start,
                    per_visit.c.started_at < day_table.c.day_end,
                ),
            )
        )
        .group_by(day_table.c.day)
        .order_by(day_table.c.day)
    )
    found = {row.day: (int(row.visits), int(row.conversions)) for row in await conn.execute(query)}
    return [DayCounts(*found[index]) for index in range(len(days))]
