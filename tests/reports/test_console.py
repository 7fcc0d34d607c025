"""The Sources tab: admin-only, the numbers on the page, bad parameters, and the CSV download
(which must say exactly what the table and the API say)."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest

from tests.conftest import SiteTeam, log_in
from tests.reports.conftest import EXPECTED, PERIOD, TOTALS, Seeded, Seeder, local
from widget_server.accounts import service as accounts
from widget_server.runtime import Runtime


def site(team: SiteTeam) -> str:
    return f"/console/sites/{team.site.key}"


def rate_text(rate: float) -> str:
    """How the page (English) shows a conversion rate: 0.3333 -> 33.33%."""
    return f"{rate * 100:.2f}".rstrip("0").rstrip(".") + "%"


def table_rows(html: str) -> dict[str, list[str]]:
    """data-key -> the cells of that table row (the totals row has the key "")."""
    rows: dict[str, list[str]] = {}
    for key, body in re.findall(r'<tr data-key="([^"]*)">(.*?)</tr>', html, re.S):
        rows[key] = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r'<td class="num">(.*?)</td>', body, re.S)
        ]
    return rows


@pytest.mark.parametrize("path", ["/sources", "/sources.csv", "/sources?from=bad"])
async def test_operators_are_refused(client: httpx.AsyncClient, team: SiteTeam, path: str) -> None:
    await log_in(client, team.operator.email)
    response = await client.get(site(team) + path, headers={"Accept": "text/html"})
    assert response.status_code == 403


async def test_logged_out_visitors_are_sent_to_log_in(
    client: httpx.AsyncClient, team: SiteTeam
) -> None:
    response = await client.get(site(team) + "/sources", headers={"Accept": "text/html"})
    assert response.status_code in (302, 303)
    assert "/console/login" in response.headers["location"]


@pytest.mark.parametrize("group_by", sorted(EXPECTED))
async def test_the_page_shows_the_numbers(
    client: httpx.AsyncClient, seeded: Seeded, group_by: str
) -> None:
    await log_in(client, seeded.team.admin.email)
    page = await client.get(site(seeded.team) + "/sources", params={**PERIOD, "group_by": group_by})
    assert page.status_code == 200
    rows = table_rows(page.text)
    # No orders in this data (see test_orders.py): 0 paid orders, no revenue.
    expected = {
        key: [str(n) for n in numbers[:5]] + [rate_text(numbers[5]), "0", "—"]
        for key, numbers in EXPECTED[group_by]
    }
    expected[""] = [str(n) for n in TOTALS[:5]] + [rate_text(TOTALS[5]), "0", "—"]
    assert rows == expected
    # The rows come in report order: most visits first.
    assert re.findall(r'<tr data-key="([^"]+)">', page.text) == [k for k, _ in EXPECTED[group_by]]


async def test_the_page_has_tiles_chart_form_csv_link_and_goals_hint(
    client: httpx.AsyncClient, state: Runtime, seeded: Seeded
) -> None:
    await Seeder(state.engine, seeded.team.site.id).pageview(1, "now", local(1, 0))  # long ago
    await log_in(client, seeded.team.owner.email)
    page = await client.get(
        site(seeded.team) + "/sources", params={**PERIOD, "group_by": "campaign"}
    )
    html = page.text
    tiles = dict(re.findall(r'data-tile="([a-z_]+)">([^<]*)<', html))
    assert tiles == {
        "visits": "7",
        "visitors": "5",
        "pageviews": "14",
        "conversions": "4",
        "conversion_rate": "57.14%",
        "online": "0",
    }
    assert '<svg class="chart"' in html and 'role="img"' in html and "<title>Visits per day" in html
    assert 'type="date"' in html and 'value="2024-03-25"' in html and 'value="2024-03-31"' in html
    assert '<option value="campaign" selected>' in html
    assert 'aria-current="page">Sources</a>' in html
    csv_link = (
        f"{site(seeded.team)}/sources.csv?from=2024-03-25&amp;to=2024-03-31&amp;group_by=campaign"
    )
    assert f'href="{csv_link}"' in html
    assert f'href="{site(seeded.team)}/counter"' in html
    assert "signup, purchase" in html


async def test_defaults_fill_the_form(client: httpx.AsyncClient, team: SiteTeam) -> None:
    await log_in(client, team.owner.email)
    page = await client.get(site(team) + "/sources")
    assert page.status_code == 200
    assert '<option value="channel" selected>' in page.text
    assert "No visits in this period." in page.text
    assert "No goals yet" in page.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2024-02-31", "to": "2024-03-31"}, "Enter a date as YYYY-MM-DD."),
        ({"from": "2024-03-31", "to": "2024-03-01"}, "The end date is before the start date."),
        ({"from": "2020-01-01", "to": "2024-03-01"}, "Pick at most 366 days."),
        ({"group_by": "country"}, "Group by one of: channel, source, campaign, referrer, landing."),
    ],
)
async def test_bad_parameters_re_render_the_form_with_422(
    client: httpx.AsyncClient, seeded: Seeded, params: dict[str, str], message: str
) -> None:
    await log_in(client, seeded.team.owner.email)
    page = await client.get(site(seeded.team) + "/sources", params=params)
    assert page.status_code == 422
    assert message in page.text
    assert 'aria-invalid="true"' in page.text
    assert "<table" not in page.text and "<svg" not in page.text
    for value in params.values():  # what was typed stays in the form
        assert f'value="{value}"' in page.text or value == params.get("group_by")


# --- CSV -------------------------------------------------------------------------------------


def parse_csv(response: httpx.Response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("group_by", sorted(EXPECTED))
async def test_the_csv_has_the_same_numbers_as_the_table_and_the_api(
    client: httpx.AsyncClient, state: Runtime, seeded: Seeded, group_by: str
) -> None:
    await log_in(client, seeded.team.owner.email)
    params = {**PERIOD, "group_by": group_by}
    response = await client.get(site(seeded.team) + "/sources.csv", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    name = f"sources-{seeded.team.site.key}-2024-03-25-2024-03-31-{group_by}.csv"
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
    header, *rows, total = parse_csv(response)
    assert header[1:] == [
        "Visits",
        "Visitors",
        "Pageviews",
        "Events",
        "Conversions",
        "Conversion rate, %",
        "Paid orders",  # and one "Revenue, EUR" column per currency: none here
    ]
    assert {row[7] for row in [*rows, total]} == {"0"}
    as_numbers = [(row[0], (*map(int, row[1:6]), round(float(row[6]) / 100, 4))) for row in rows]
    assert as_numbers == EXPECTED[group_by]
    assert total[0] == "Total"
    assert (*map(int, total[1:6]), round(float(total[6]) / 100, 4)) == TOTALS

    # The same numbers as the page's table and the API's rows.
    page = table_rows((await client.get(site(seeded.team) + "/sources", params=params)).text)
    for row in rows:
        assert page[row[0]][:5] == row[1:6]
    _, secret = await accounts.create_api_key(seeded.team.access(), state.engine, "csv")
    api = await client.get(
        "/api/v2/reports/sources", params=params, headers={"Authorization": f"Bearer {secret}"}
    )
    assert [
        [
            str(r["key"]),
            *(str(r[n]) for n in ("visits", "visitors", "pageviews", "events", "conversions")),
        ]
        for r in api.json()["rows"]
    ] == [row[:6] for row in rows]


async def test_the_csv_keeps_spreadsheets_from_running_keys_as_formulas(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    shop = Seeder(state.engine, team.site.id)
    await shop.visit(1, "A", local(26, 12), campaign='=HYPERLINK("https://evil.example")')
    await shop.visit(2, "B", local(26, 13), campaign="@SUM(A1)")
    await log_in(client, team.owner.email)
    response = await client.get(
        site(team) + "/sources.csv", params={**PERIOD, "group_by": "campaign"}
    )
    keys = sorted(row[0] for row in parse_csv(response)[1:-1])
    assert keys == ['\'=HYPERLINK("https://evil.example")', "'@SUM(A1)"]


async def test_the_csv_refuses_bad_parameters(client: httpx.AsyncClient, team: SiteTeam) -> None:
    await log_in(client, team.owner.email)
    response = await client.get(
        site(team) + "/sources.csv", params={"from": "soon"}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 422
