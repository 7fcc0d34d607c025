"""Counter queries: settings, visit-number blocks, batched inserts of buffered hits, visitors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Column, Table, func, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from widget_server.counter.tables import counter_settings, events, pageviews, visit_numbers, visits
from widget_server.db.metadata import UTCDateTime

FIRST_VISIT_NUMBER = 1000
# Rows per INSERT statement when writing a batch: the event loop serves requests between them.
INSERT_CHUNK = 1000
# SQLite's default cap on the parameters of one statement (SQLITE_MAX_VARIABLE_NUMBER).
SQLITE_MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


@dataclass(frozen=True)
class CounterSettings:
    """A site's counter settings (the defaults until the owner first saves the form)."""

    honour_dnt: bool = False
    require_consent: bool = False
    track_outbound: bool = False
    track_downloads: bool = False
    hash_routing: bool = False
    allow_bots: bool = False
    excluded_ips: tuple[str, ...] = ()  # addresses and CIDR blocks, normalised
    goals: tuple[str, ...] = ()  # event names counted as conversions


async def settings_of(conn: AsyncConnection, site_id: int) -> CounterSettings:
    query = select(counter_settings).where(counter_settings.c.site_id == site_id)
    row = (await conn.execute(query)).first()
    if row is None:
        return CounterSettings()
    return CounterSettings(
        honour_dnt=row.honour_dnt,
        require_consent=row.require_consent,
        track_outbound=row.track_outbound,
        track_downloads=row.track_downloads,
        hash_routing=row.hash_routing,
        allow_bots=row.allow_bots,
        excluded_ips=tuple(row.excluded_ips),
        goals=tuple(row.goals),
    )


async def save_settings(
    engine: AsyncEngine, site_id: int, values: CounterSettings, now: datetime
) -> None:
    """Update the site's row, or insert it on the first save (a racing insert turns into an
    update on the retry)."""
    row: dict[str, Any] = {
        **values.__dict__,
        "excluded_ips": list(values.excluded_ips),
        "goals": list(values.goals),
        "updated_at": now,
    }
    for _attempt in range(3):
        async with engine.begin() as conn:
            query = update(counter_settings).where(counter_settings.c.site_id == site_id)
            if (await conn.execute(query.values(**row))).rowcount:
                return
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(counter_settings).values(site_id=site_id, **row))
            return
        except IntegrityError:
            continue
    raise RuntimeError(f"could not save the counter settings of site {site_id}")


# --- visit numbers ---------------------------------------------------------------------------


async def reserve_numbers(engine: AsyncEngine, site_id: int, count: int) -> tuple[int, int]:
    """Reserve ``count`` visit numbers for the site: ``[start, end)``, never handed to anyone else.

    One atomic ``UPDATE … SET next_number = next_number + :count RETURNING next_number`` (a row
    lock on PostgreSQL, the write lock on SQLite), so two processes reserving at once get
    disjoint blocks. The site's first block inserts the row; if another process inserted it in
    the meantime, the insert fails on the primary key and the update runs again.
    """
    for _attempt in range(5):
        async with engine.begin() as conn:
            query = (
                update(visit_numbers)
                .where(visit_numbers.c.site_id == site_id)
                .values(next_number=visit_numbers.c.next_number + count)
                .returning(visit_numbers.c.next_number)
            )
            end = (await conn.execute(query)).scalar()
        if end is not None:
            return end - count, end
        try:
            async with engine.begin() as conn:
                values = {"site_id": site_id, "next_number": FIRST_VISIT_NUMBER + count}
                await conn.execute(insert(visit_numbers).values(**values))
            return FIRST_VISIT_NUMBER, FIRST_VISIT_NUMBER + count
        except IntegrityError:
            continue
    raise RuntimeError(f"could not reserve visit numbers for site {site_id}")


async def highest_issued(engine: AsyncEngine, site_id: int) -> int:
    """The highest visit number any process may have handed out for the site."""
    async with engine.connect() as conn:
        query = select(visit_numbers.c.next_number).where(visit_numbers.c.site_id == site_id)
        next_number = (await conn.execute(query)).scalar()
    return (next_number or FIRST_VISIT_NUMBER) - 1


# --- buffered hits ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _BatchInsert:
    """An INSERT of one table's buffered rows as the dialect's driver takes it: its SQL, and
    for each column (in the SQL's order) its key and SQLAlchemy's own bind processor for the
    dialect (None when the value goes as is), so a batch costs no per-row statement machinery."""

    sql: str
    values: str  # one row's "(?, ?, …)", repeated for a multi-row INSERT
    columns: tuple[tuple[str, Callable[[Any], Any] | None], ...]

    def parameters(self, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        columns = self.columns
        return [
            tuple([row[key] if process is None else process(row[key]) for key, process in columns])
            for row in rows
        ]

    def flat_parameters(self, rows: list[dict[str, Any]]) -> list[Any]:
        columns = self.columns
        return [
            row[key] if process is None else process(row[key])
            for row in rows
            for key, process in columns
        ]


_BATCH_INSERTS: dict[tuple[str, str], _BatchInsert] = {}
_SAMPLE_TIMES = (
    datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC),
    datetime(2026, 3, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5))),
)


def _sqlite_utc_text(value: datetime | None) -> str | None:
    """What ``UTCDateTime`` binds on SQLite (naive UTC text, microseconds always written), in a
    third of the time of SQLAlchemy's processor chain; ``_batch_insert`` checks they agree."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTCDateTime column")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00" of UTC


def _bind_processor(dialect: Dialect, column: Column[Any]) -> Callable[[Any], Any] | None:
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    fast = (
        process is not None
        and dialect.name == "sqlite"
        and isinstance(column.type, UTCDateTime)
        and all(_sqlite_utc_text(sample) == process(sample) for sample in _SAMPLE_TIMES)
    )
    return _sqlite_utc_text if fast else process


def _batch_insert(dialect: Dialect, table: Table) -> _BatchInsert:
    found = _BATCH_INSERTS.get((dialect.name, table.name))
    if found is None:
        keys = [column.key for column in table.columns if not column.primary_key]
        compiled = insert(table).compile(dialect=dialect, column_keys=keys, for_executemany=True)
        sql = str(compiled)
        order = compiled.positiontup or keys
        processors = {key: _bind_processor(dialect, table.c[key]) for key in keys}
        found = _BatchInsert(
            sql=sql,
            values=sql[sql.index(" VALUES ") + len(" VALUES ") :],
            columns=tuple((key, processors[key]) for key in order),
        )
        _BATCH_INSERTS[(dialect.name, table.name)] = found
    return found


async def insert_hits(
    conn: AsyncConnection,
    visit_rows: list[dict[str, Any]],
    pageview_rows: list[dict[str, Any]],
    event_rows: list[dict[str, Any]],
) -> None:
    """Write a batch in the caller's transaction, through the driver: the statement is compiled
    once per table and dialect, and each row only goes through the bind processors of the
    columns that have one (datetimes, JSON), exactly as ``conn.execute(insert(table), rows)``
    would convert them.

    On SQLite, one multi-row INSERT per ``INSERT_CHUNK`` rows rather than an executemany: the
    driver runs in aiosqlite's thread and takes the GIL back after every statement it steps, so
    an executemany of N rows waits N times for the busy event loop to let go of it (up to the
    5 ms switch interval each), holding the database's write lock all along. PostgreSQL gets an
    executemany per chunk (asyncpg pipelines it in one round trip).
    """
    sqlite = conn.dialect.name == "sqlite"
    for table, rows in ((visits, visit_rows), (pageviews, pageview_rows), (events, event_rows)):
        if not rows:
            continue
        batch = _batch_insert(conn.dialect, table)
        chunk = INSERT_CHUNK
        if sqlite:
            chunk = min(chunk, SQLITE_MAX_VARIABLES // len(batch.columns))
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            if sqlite:
                sql = batch.sql + (", " + batch.values) * (len(part) - 1)
                await conn.exec_driver_sql(sql, tuple(batch.flat_parameters(part)))
            else:
                await conn.exec_driver_sql(batch.sql, batch.parameters(part))


async def visitors_since(engine: AsyncEngine, site_id: int, since: datetime) -> set[str]:
    """The distinct visitors with a stored pageview at or after ``since``."""
    async with engine.connect() as conn:
        query = (
            select(func.distinct(pageviews.c.visitor_id))
            .where(pageviews.c.site_id == site_id)
            .where(pageviews.c.at >= since)
        )
        return set((await conn.execute(query)).scalars())


# --- visits as other features see them (the chat's visitor panel, leads) ----------------------


@dataclass(frozen=True)
class VisitSource:
    number: int
    started_at: datetime
    channel: str
    source: str  # utm_source, else the referring domain, else ""
    medium: str
    campaign: str
    landing_page: str
    referrer: str
    click_id_kind: str
    device: str


async def visit_source(conn: AsyncConnection, site_id: int, number: int) -> VisitSource | None:
    query = select(visits).where(visits.c.site_id == site_id, visits.c.number == number)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return VisitSource(
        number=row.number,
        started_at=row.started_at,
        channel=row.channel,
        source=row.utm_source or row.referrer_domain,
        medium=row.utm_medium,
        campaign=row.utm_campaign,
        landing_page=row.landing_url,
        referrer=row.referrer,
        click_id_kind=row.click_id_kind,
        device=row.device,
    )


async def visit_pages(
    conn: AsyncConnection, site_id: int, number: int, limit: int
) -> list[tuple[str, datetime]]:
    """The stored pageviews of a visit, oldest first: (url, at)."""
    query = (
        select(pageviews.c.url, pageviews.c.at)
        .where(pageviews.c.site_id == site_id, pageviews.c.visit_number == number)
        .order_by(pageviews.c.at, pageviews.c.id)
        .limit(limit)
    )
    return [(row.url, row.at) for row in await conn.execute(query)]
