"""The reports suite runs on SQLite and, when configured, on PostgreSQL.

``seeded`` writes a known set of visits, pageviews and events straight into the counter's
tables (no ingestion involved) for a site in Europe/Paris, around the week 2024-03-25..31,
which ends with the switch to summer time (UTC+1 → UTC+2 on Sunday 31 March). A second site
holds visits with the same numbers, which no report of the first site may count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SiteTeam, create_team
from widget_server.counter.tables import counter_settings, events, pageviews, visits
from widget_server.runtime import Runtime

PARIS = ZoneInfo("Europe/Paris")
FIRST, LAST = date(2024, 3, 25), date(2024, 3, 31)
PERIOD = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
GOALS = ["signup", "purchase"]


@pytest.fixture
def database_url(any_database_url: str) -> str:
    return any_database_url


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A wall-clock time in Paris in 2024, as the aware UTC instant the tables store."""
    return datetime(2024, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


@dataclass
class Seeder:
    engine: AsyncEngine
    site_id: int

    async def goals(self, names: list[str]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(counter_settings).where(counter_settings.c.site_id == self.site_id)
            )
            await conn.execute(
                insert(counter_settings).values(
                    site_id=self.site_id,
                    honour_dnt=False,
                    require_consent=False,
                    track_outbound=False,
                    track_downloads=False,
                    hash_routing=False,
                    allow_bots=False,
                    excluded_ips=[],
                    goals=names,
                    updated_at=datetime.now(UTC),
                )
            )

    async def visit(
        self,
        number: int,
        visitor: str,
        at: datetime,
        *,
        channel: str = "direct",
        source: str = "",
        campaign: str = "",
        referrer: str = "",
        landing: str = "/",
        pages: int = 0,
        page_at: datetime | None = None,
        events_named: tuple[str, ...] = (),
        event_at: datetime | None = None,
    ) -> None:
        """One visit, ``pages`` pageviews of it and one event per name in ``events_named``."""
        visitor_id = f"visitor-{visitor}"
        row: dict[str, Any] = {
            "site_id": self.site_id,
            "number": number,
            "visitor_id": visitor_id,
            "started_at": at,
            "landing_url": "https://shop.example.com" + landing,
            "landing_path": landing,
            "referrer": f"https://{referrer}/" if referrer else "",
            "referrer_domain": referrer,
            "utm_source": source,
            "utm_medium": "",
            "utm_campaign": campaign,
            "utm_term": "",
            "utm_content": "",
            "click_id_kind": "",
            "click_id": "",
            "channel": channel,
            "device": "desktop",
        }
        async with self.engine.begin() as conn:
            await conn.execute(insert(visits).values(**row))
            for n in range(pages):
                await self.pageview(number, visitor, (page_at or at) + timedelta(seconds=n), conn)
            for name in events_named:
                await conn.execute(
                    insert(events).values(
                        site_id=self.site_id,
                        visit_number=number,
                        visitor_id=visitor_id,
                        name=name,
                        props={},
                        origin="browser",
                        at=event_at or at + timedelta(minutes=1),
                    )
                )

    async def pageview(self, number: int, visitor: str, at: datetime, conn: Any = None) -> None:
        values = {
            "site_id": self.site_id,
            "visit_number": number,
            "visitor_id": f"visitor-{visitor}",
            "url": "https://shop.example.com/",
            "path": "/",
            "at": at,
        }
        if conn is not None:
            await conn.execute(insert(pageviews).values(**values))
            return
        async with self.engine.begin() as fresh:
            await fresh.execute(insert(pageviews).values(**values))

    async def server_event(self, name: str, at: datetime) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(events).values(
                    site_id=self.site_id, name=name, props={}, origin="server", at=at
                )
            )


@dataclass
class Seeded:
    team: SiteTeam
    other: SiteTeam


@pytest.fixture
async def seeded(state: Runtime, team: SiteTeam) -> Seeded:
    return await seed_reports(state, team)


async def seed_reports(state: Runtime, team: SiteTeam) -> Seeded:
    """The data described in this module's docstring (also used by the SDK's tests)."""
    shop = Seeder(state.engine, team.site.id)
    await shop.goals(GOALS)
    # Before the period: 23:30 local on the 24th (already the 24th in UTC too).
    await shop.visit(
        1001,
        "A",
        local(24, 23, 30),
        channel="ads",
        source="google",
        pages=5,
        events_named=("signup",),
    )
    # 00:10 local on the first day is still the 24th in UTC: it counts.
    await shop.visit(
        1002,
        "A",
        local(25, 0, 10),
        channel="ads",
        source="google",
        campaign="spring",
        landing="/sale",
        pages=3,
        events_named=("signup", "scroll"),
    )
    await shop.visit(1003, "B", local(26, 12), channel="search", referrer="www.google.com", pages=2)
    await shop.visit(
        1004,
        "B",
        local(27, 9),
        channel="ads",
        source="google",
        campaign="spring",
        landing="/sale",
        pages=1,
        events_named=("purchase", "purchase"),
    )
    await shop.visit(
        1005,
        "C",
        local(27, 18),
        channel="social",
        source="facebook",
        campaign="Весна",
        referrer="facebook.com",
        landing="/blog",
        pages=4,
        events_named=("scroll",),
    )
    await shop.visit(
        1009,
        "F",
        local(28, 14),
        channel="referral",
        referrer="blog.example.org",
        pages=1,
        events_named=("signup",),
    )
    await shop.visit(1006, "B", local(29, 10), channel="direct", pages=1)
    # 23:30 local (summer time) on the last day counts, with its pageviews and its goal event
    # after midnight: they belong to the visit, whenever they happened.
    await shop.visit(
        1007,
        "E",
        local(31, 23, 30),
        channel="email",
        source="newsletter",
        campaign="Весна",
        landing="/blog",
        pages=2,
        page_at=local(1, 0, 10, 4),
        events_named=("signup",),
        event_at=local(1, 0, 15, 4),
    )
    # 00:30 local the day after the period is still the 31st in UTC: it does not count.
    await shop.visit(
        1008, "E", local(1, 0, 30, 4), channel="direct", pages=1, events_named=("signup",)
    )
    # A server-side event without a visit belongs to no group.
    await shop.server_event("signup", local(27, 12))

    other = await create_team(state, prefix="other-")
    elsewhere = Seeder(state.engine, other.site.id)
    await elsewhere.goals(["scroll"])
    # Same visit numbers on another site: (site_id, number) is the join key, not number alone.
    for number in (1002, 1003, 1004):
        await elsewhere.visit(
            number,
            "Z",
            local(27, 12),
            channel="ads",
            campaign="spring",
            pages=10,
            events_named=("signup", "scroll"),
        )
    return Seeded(team=team, other=other)


# What the seeded site's report must say for 2024-03-25..31, per group_by:
# key -> (visits, visitors, pageviews, events, conversions, conversion_rate), in report order.
EXPECTED: dict[str, list[tuple[str, tuple[int, int, int, int, int, float]]]] = {
    "channel": [
        ("ads", (2, 2, 4, 4, 2, 1.0)),
        ("direct", (1, 1, 1, 0, 0, 0.0)),
        ("email", (1, 1, 2, 1, 1, 1.0)),
        ("referral", (1, 1, 1, 1, 1, 1.0)),
        ("search", (1, 1, 2, 0, 0, 0.0)),
        ("social", (1, 1, 4, 1, 0, 0.0)),
    ],
    "campaign": [
        ("(none)", (3, 2, 4, 1, 1, 0.3333)),
        ("spring", (2, 2, 4, 4, 2, 1.0)),
        ("Весна", (2, 2, 6, 2, 1, 0.5)),
    ],
    "source": [
        ("google", (2, 2, 4, 4, 2, 1.0)),
        ("(direct)", (1, 1, 1, 0, 0, 0.0)),
        ("blog.example.org", (1, 1, 1, 1, 1, 1.0)),
        ("facebook", (1, 1, 4, 1, 0, 0.0)),
        ("newsletter", (1, 1, 2, 1, 1, 1.0)),
        ("www.google.com", (1, 1, 2, 0, 0, 0.0)),
    ],
    "referrer": [
        ("(none)", (4, 3, 7, 5, 3, 0.75)),
        ("blog.example.org", (1, 1, 1, 1, 1, 1.0)),
        ("facebook.com", (1, 1, 4, 1, 0, 0.0)),
        ("www.google.com", (1, 1, 2, 0, 0, 0.0)),
    ],
    "landing": [
        ("/", (3, 2, 4, 1, 1, 0.3333)),
        ("/blog", (2, 2, 6, 2, 1, 0.5)),
        ("/sale", (2, 2, 4, 4, 2, 1.0)),
    ],
}
TOTALS = (7, 5, 14, 7, 4, 0.5714)
# (visits, conversions) per local day, 25 to 31 March.
SERIES = [(1, 1), (1, 0), (2, 1), (1, 1), (1, 0), (0, 0), (1, 1)]
