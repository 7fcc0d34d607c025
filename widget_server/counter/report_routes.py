"""The Sources report: the console page, its CSV download and GET /api/v2/reports/sources."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from babel.numbers import format_decimal, format_percent
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from widget_server.api.auth import api_caller
from widget_server.console.context import render, site_access
from widget_server.counter import charts, reports
from widget_server.counter.report_store import Counts
from widget_server.errors import InvalidRequest
from widget_server.i18n import _, current_language
from widget_server.payments import money
from widget_server.runtime import runtime


def _group_labels() -> dict[str, str]:
    return {
        "channel": _("Channel"),
        "source": _("Source"),
        "campaign": _("Campaign"),
        "referrer": _("Referrer domain"),
        "landing": _("Landing page"),
    }


def _channel_labels() -> dict[str, str]:
    return {
        "ads": _("Ads"),
        "search": _("Search"),
        "social": _("Social"),
        "referral": _("Referral"),
        "email": _("E-mail"),
        "direct": _("Direct"),
    }


def _numbers() -> dict[str, Callable[[Any], str]]:
    """Number formatting in the reader's language, for the page."""
    language = current_language.get()
    return {
        "number": lambda value: format_decimal(value, locale=language),
        "percent": lambda rate: format_percent(rate, "#,##0.##%", locale=language),
        "money": lambda revenue: money.format_amounts(revenue, language),
    }


def _query_values(request: Request) -> dict[str, str]:
    params = request.query_params
    return {name: params.get(name, "").strip() for name in ("from", "to", "group_by")}


def _parse(time_zone: str, values: dict[str, str]) -> reports.ReportQuery:
    return reports.parse_query(
        time_zone,
        from_=values["from"] or None,
        to=values["to"] or None,
        group_by=values["group_by"] or None,
    )


# --- console ---------------------------------------------------------------------------------


async def sources_page(request: Request) -> Response:
    access = await site_access(request)
    reports.reader_site_id(access)  # operators: 403 before anything else is looked at
    state = runtime(request)
    online = await reports.online_now(access, state)
    values = _query_values(request)
    page: dict[str, Any] = {
        "active_tab": "sources",
        "online": online,
        "group_labels": _group_labels(),
        "channel_labels": _channel_labels(),
        "error": None,
        "report": None,
        **_numbers(),
    }
    try:
        query = _parse(access.site.time_zone, values)
    except InvalidRequest as exc:
        page.update(form=values, error=exc)
        return await render(request, "counter/sources.html", page, status_code=422)
    report = await reports.sources(access, state.engine, query)
    page.update(
        form=query.as_params(),
        report=report,
        chart=charts.visits_chart(report.series),
        csv_params=query.as_params(),
    )
    return await render(request, "counter/sources.html", page)


def _csv_cell(key: str) -> str:
    """Group keys come from URLs anyone can craft: keep spreadsheets from running them."""
    return "'" + key if key.startswith(("=", "+", "-", "@", "\t", "\r")) else key


_CSV_COUNTS = ("visits", "visitors", "pageviews", "events", "conversions")


def _csv_line(first: str, counts: Counts, currencies: list[str]) -> list[str]:
    return [
        first,
        *(str(getattr(counts, name)) for name in _CSV_COUNTS),
        f"{counts.conversion_rate * 100:.2f}",
        str(counts.paid_orders),
        *(f"{money.major(counts.revenue.get(code, 0), code):f}" for code in currencies),
    ]


def sources_csv_text(report: reports.SourcesReport) -> str:
    """The report table as CSV: a header row, one row per group, then the totals. Revenue has
    one column per currency of the report, in major units (120.50), so spreadsheets can sum it.
    """
    currencies = list(report.totals.revenue)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            _group_labels()[report.query.group_by],
            _("Visits"),
            _("Visitors"),
            _("Pageviews"),
            _("Events"),
            _("Conversions"),
            _("Conversion rate, %"),
            _("Paid orders"),
            *(_("Revenue, {currency}").format(currency=code.upper()) for code in currencies),
        ]
    )
    for key, counts in report.rows:
        writer.writerow(_csv_line(_csv_cell(key), counts, currencies))
    writer.writerow(_csv_line(_("Total"), report.totals, currencies))
    return out.getvalue()


async def sources_csv(request: Request) -> Response:
    access = await site_access(request)
    reports.reader_site_id(access)
    query = _parse(access.site.time_zone, _query_values(request))
    report = await reports.sources(access, runtime(request).engine, query)
    name = f"sources-{access.site.key}-{query.period.first}-{query.period.last}-{query.group_by}"
    # A byte order mark, so that Excel reads the file as UTF-8 (Cyrillic campaign names…).
    return Response(
        "\ufeff" + sources_csv_text(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


# --- API -------------------------------------------------------------------------------------


def counts_json(counts: Counts) -> dict[str, Any]:
    """The counts, the conversion rate, and ``revenue`` as {currency: minor units}."""
    data: dict[str, Any] = {name: getattr(counts, name) for name in Counts.__dataclass_fields__}
    data["conversion_rate"] = counts.conversion_rate
    data["revenue"] = dict(counts.revenue)
    return data


def report_json(report: reports.SourcesReport) -> dict[str, Any]:
    period = report.query.period
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "time_zone": period.time_zone,
        "group_by": report.query.group_by,
        "rows": [{"key": key, **counts_json(counts)} for key, counts in report.rows],
        "totals": counts_json(report.totals),
    }


async def api_sources(request: Request) -> JSONResponse:
    caller = await api_caller(request)
    query = _parse(caller.site.time_zone, _query_values(request))
    report = await reports.sources(caller, runtime(request).engine, query)
    return JSONResponse(report_json(report))


_SITE = "/console/sites/{site_key}"
routes: list[BaseRoute] = [
    Route(f"{_SITE}/sources", sources_page, methods=["GET"]),
    Route(f"{_SITE}/sources.csv", sources_csv, methods=["GET"]),
]
api_routes: list[BaseRoute] = [
    Route("/api/v2/reports/sources", api_sources, methods=["GET"]),
]
