"""The Sources report through its service: exact counts per group, totals, the daily series,
the period in the site's time zone, parameter checks and who may read it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import SiteTeam
from tests.reports.conftest import EXPECTED, FIRST, LAST, SERIES, TOTALS, Seeded, Seeder
from widget_server.counter import charts, reports
from widget_server.counter.report_store import Counts
from widget_server.errors import Forbidden, InvalidRequest
from widget_server.runtime import Runtime


def numbers(counts: Counts) -> tuple[int, int, int, int, int, float]:
    return (
        counts.visits,
        counts.visitors,
        counts.pageviews,
        counts.events,
        counts.conversions,
        counts.conversion_rate,
    )


def query(group_by: str = "channel") -> reports.ReportQuery:
    return reports.parse_query(
        "Europe/Paris", from_=FIRST.isoformat(), to=LAST.isoformat(), group_by=group_by
    )


@pytest.mark.parametrize("group_by", sorted(EXPECTED))
async def test_exact_counts_per_group_and_in_total(
    state: Runtime, seeded: Seeded, group_by: str
) -> None:
    report = await reports.sources(seeded.team.access(), state.engine, query(group_by))
    assert [(key, numbers(counts)) for key, counts in report.rows] == EXPECTED[group_by]
    assert numbers(report.totals) == TOTALS
    assert report.goals == ["signup", "purchase"]


async def test_the_daily_series_has_every_local_day_with_zeros(
    state: Runtime, seeded: Seeded
) -> None:
    report = await reports.sources(seeded.team.access(), state.engine, query())
    assert [point.day for point in report.series] == [
        date(2024, 3, 25) + timedelta(days=n) for n in range(7)
    ]
    assert [(point.visits, point.conversions) for point in report.series] == SERIES


async def test_the_other_site_sees_only_its_own_visits(state: Runtime, seeded: Seeded) -> None:
    report = await reports.sources(seeded.other.access(), state.engine, query("campaign"))
    # Three visits with 10 pageviews and 2 events each; "scroll" is this site's only goal.
    assert [(key, numbers(counts)) for key, counts in report.rows] == [
        ("spring", (3, 1, 30, 6, 3, 1.0))
    ]


async def test_without_goals_nothing_converts(state: Runtime, seeded: Seeded) -> None:
    await Seeder(state.engine, seeded.team.site.id).goals([])
    report = await reports.sources(seeded.team.access(), state.engine, query())
    assert report.totals.conversions == 0
    assert report.totals.conversion_rate == 0.0
    assert report.totals.visits == 7
    assert all(point.conversions == 0 for point in report.series)


async def test_a_site_without_visits_has_an_empty_report(state: Runtime, team: SiteTeam) -> None:
    report = await reports.sources(team.access(), state.engine, query())
    assert report.rows == []
    assert numbers(report.totals) == (0, 0, 0, 0, 0, 0.0)
    assert report.goals == []
    assert len(report.series) == 7 and all(p.visits == 0 for p in report.series)


async def test_one_day_period_uses_local_midnights(state: Runtime, seeded: Seeded) -> None:
    last_day = reports.parse_query("Europe/Paris", from_="2024-03-31", to="2024-03-31")
    report = await reports.sources(seeded.team.access(), state.engine, last_day)
    assert [(key, counts.visits) for key, counts in report.rows] == [("email", 1)]
    # The 31st is 23 hours long in Paris: 23:00 UTC on the 30th to 22:00 UTC on the 31st.
    assert last_day.period.bounds(date(2024, 3, 31)) == (
        datetime(2024, 3, 30, 23, tzinfo=UTC),
        datetime(2024, 3, 31, 22, tzinfo=UTC),
    )


async def test_operators_may_not_read_reports(state: Runtime, seeded: Seeded) -> None:
    with pytest.raises(Forbidden):
        await reports.sources(seeded.team.access("operator"), state.engine, query())
    with pytest.raises(Forbidden):
        await reports.online_now(seeded.team.access("operator"), state)
    admin = await reports.sources(seeded.team.access("admin"), state.engine, query())
    assert admin.totals.visits == 7


async def test_on_the_site_now_counts_visitors_with_a_pageview_in_five_minutes(
    state: Runtime, team: SiteTeam
) -> None:
    shop = Seeder(state.engine, team.site.id)
    now = datetime.now(UTC)
    await shop.pageview(100, "X", now - timedelta(minutes=1))
    await shop.pageview(100, "X", now - timedelta(seconds=10))
    await shop.pageview(101, "Y", now - timedelta(minutes=4))
    await shop.pageview(102, "Z", now - timedelta(minutes=6))
    assert await reports.online_now(team.access(), state) == 2


# --- parameters ------------------------------------------------------------------------------


def test_defaults_are_the_last_30_days_by_channel() -> None:
    found = reports.parse_query("Asia/Tokyo", today=date(2024, 3, 10))
    assert (found.period.first, found.period.last) == (date(2024, 2, 10), date(2024, 3, 10))
    assert found.group_by == "channel"
    assert found.as_params() == {"from": "2024-02-10", "to": "2024-03-10", "group_by": "channel"}


def test_today_is_taken_in_the_site_time_zone() -> None:
    found = reports.parse_query("Pacific/Kiritimati")  # UTC+14: often tomorrow already
    from zoneinfo import ZoneInfo

    assert found.period.last == datetime.now(ZoneInfo("Pacific/Kiritimati")).date()


def test_366_days_are_allowed_and_367_are_not() -> None:
    found = reports.parse_query("UTC", from_="2024-01-01", to="2024-12-31")
    assert len(found.period.days) == 366
    with pytest.raises(InvalidRequest) as caught:
        reports.parse_query("UTC", from_="2023-12-31", to="2024-12-31")
    assert [(d["field"], d["code"]) for d in caught.value.details] == [("to", "range")]


@pytest.mark.parametrize(
    ("from_", "to", "group_by", "fields"),
    [
        ("2024-13-01", "2024-03-31", None, ["from"]),
        ("yesterday", None, None, ["from"]),
        ("20240301", "2024-03-31", None, ["from"]),
        ("2024-03-01", "2024-3-31", None, ["to"]),
        ("2024-03-31", "2024-03-01", None, ["to"]),
        ("0001-01-01", "0001-01-02", None, ["from", "to"]),
        ("2024-03-01", "2024-03-31", "country", ["group_by"]),
        ("nope", "2024-03-31", "country", ["from", "group_by"]),
    ],
)
def test_bad_parameters_are_refused_with_details(
    from_: str, to: str | None, group_by: str | None, fields: list[str]
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        reports.parse_query("Europe/Paris", from_=from_, to=to, group_by=group_by)
    assert sorted(d["field"] for d in caught.value.details) == fields
    assert caught.value.status == 422


# --- the chart -------------------------------------------------------------------------------


def test_the_chart_is_an_accessible_svg_with_one_bar_per_day_with_visits() -> None:
    series = [
        reports.DayPoint(date(2024, 3, 25) + timedelta(days=n), visits, conversions)
        for n, (visits, conversions) in enumerate(SERIES)
    ]
    svg = str(charts.visits_chart(series))
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-label="Visits per day from March 25, 2024 to March 31, 2024: 7 visits, ' in svg
    assert "4 conversions. The busiest day was March 27, 2024 with 2 visits." in svg
    assert svg.count('class="chart-visits"') == 6  # the 30th has no bar
    assert svg.count('class="chart-conversions"') == 4
    assert "<title>27 Mar: 2 visits, 1 conversion</title>" in svg
    assert charts.visits_chart([]) == ""
