"""Report rules: which period and grouping a request asks for, who may read a site's reports,
and the Sources report itself (counts per group, totals, a daily series); "on the site now"
comes from the counter's service, which also sees the hits still in the write buffer.

A period is a range of whole local days in the site's time zone, ``from``..``to`` inclusive,
turned into UTC bounds with zoneinfo (so a visit at 23:30 local on ``to`` counts and one at
00:30 local the day after does not, whatever the DST offset). The queries are in report_store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.accounts.models import Access
from widget_server.api.auth import ApiCaller
from widget_server.counter import report_store as store
from widget_server.counter import service as counter
from widget_server.counter.report_store import Counts
from widget_server.errors import Forbidden, InvalidRequest, field_error
from widget_server.i18n import _
from widget_server.runtime import Runtime

GROUP_BYS = ("channel", "source", "campaign", "referrer", "landing")
DEFAULT_GROUP_BY = "channel"
DEFAULT_DAYS = 30
MAX_DAYS = 366
# Far enough from datetime's limits that shifting a day by any UTC offset cannot overflow.
_FIRST_DAY, _LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Who may read a site's reports: its owner or an admin in the console, or its API key.
Actor = Access | ApiCaller


def reader_site_id(actor: Actor) -> int:
    """The actor's site, or Forbidden for console users who are not its owner or an admin."""
    if isinstance(actor, Access) and not actor.is_admin:
        raise Forbidden(_("Only the site's owner or an admin can do this."))
    return actor.site.id


@dataclass(frozen=True)
class Period:
    """Whole local days ``first``..``last`` (inclusive) in ``time_zone``."""

    first: date
    last: date
    time_zone: str

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def bounds(self, day: date) -> tuple[datetime, datetime]:
        """The UTC instants ``[start, end)`` of one local day (23 or 25 hours on DST days)."""
        zone = ZoneInfo(self.time_zone)
        start = datetime.combine(day, time(0), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class ReportQuery:
    period: Period
    group_by: str

    def as_params(self) -> dict[str, str]:
        """The query string that asks for this report again (for links: CSV, the form)."""
        return {
            "from": self.period.first.isoformat(),
            "to": self.period.last.isoformat(),
            "group_by": self.group_by,
        }


def _date(field: str, raw: str, errors: list[dict[str, Any]]) -> date | None:
    try:
        if not _ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        found = date.fromisoformat(raw)
    except ValueError:
        errors.append(field_error(field, _("Enter a date as YYYY-MM-DD.")))
        return None
    if not _FIRST_DAY <= found <= _LAST_DAY:
        errors.append(field_error(field, _("Enter a date between 1970 and 9998.")))
        return None
    return found


def parse_query(
    time_zone: str,
    *,
    from_: str | None = None,
    to: str | None = None,
    group_by: str | None = None,
    today: date | None = None,
) -> ReportQuery:
    """The report a request asks for; blank values take the defaults (the last 30 days up to
    today in the site's time zone, grouped by channel). InvalidRequest lists every broken rule.
    """
    if today is None:
        today = datetime.now(ZoneInfo(time_zone)).date()
    errors: list[dict[str, Any]] = []
    last = _date("to", to, errors) if to else today
    first = _date("from", from_, errors) if from_ else None
    if first is None and not from_ and last is not None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    grouping = group_by or DEFAULT_GROUP_BY
    if grouping not in GROUP_BYS:
        message = _("Group by one of: {names}.").format(names=", ".join(GROUP_BYS))
        errors.append(field_error("group_by", message, "choice"))
    if first is not None and last is not None:
        if last < first:
            errors.append(field_error("to", _("The end date is before the start date.")))
        elif (last - first).days + 1 > MAX_DAYS:
            message = _("Pick at most {days} days.").format(days=MAX_DAYS)
            errors.append(field_error("to", message, "range"))
    if errors or first is None or last is None:
        raise InvalidRequest(errors[0]["message"], details=errors)
    return ReportQuery(period=Period(first, last, time_zone), group_by=grouping)


@dataclass(frozen=True)
class DayPoint:
    day: date
    visits: int
    conversions: int


@dataclass(frozen=True)
class SourcesReport:
    query: ReportQuery
    rows: list[tuple[str, Counts]]  # (group key, counts): visits desc, then key
    totals: Counts
    goals: list[str]
    series: list[DayPoint]  # one per day of the period, zeros included


async def sources(actor: Actor, engine: AsyncEngine, query: ReportQuery) -> SourcesReport:
    """Visits started in the period, grouped, with their pageviews, events, conversions, and
    the orders they led to: paid ones (refunded since or not) and the revenue kept per currency,
    counted by the visit's day, not the payment's."""
    site_id = reader_site_id(actor)
    period = query.period
    days = period.days
    bounds = [period.bounds(day) for day in days]
    async with engine.connect() as conn:
        goals = await store.goals(conn, site_id)
        grouped = await store.grouped(
            conn,
            site_id=site_id,
            start=bounds[0][0],
            end=bounds[-1][1],
            group_by=query.group_by,
            goal_names=goals,
        )
        daily = await store.daily(conn, site_id=site_id, days=bounds, goal_names=goals)
    series = [
        DayPoint(day, found.visits, found.conversions)
        for day, found in zip(days, daily, strict=True)
    ]
    return SourcesReport(
        query=query, rows=grouped.rows, totals=grouped.totals, goals=goals, series=series
    )


async def online_now(actor: Actor, state: Runtime) -> int:
    """Distinct visitors with a pageview in the last five minutes, buffered ones included."""
    return await counter.online_now(state, reader_site_id(actor))
