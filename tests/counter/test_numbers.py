"""Visit numbers from blocks: two app instances on one database never hand out one number
twice, and a number one instance issued is known to the other."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SiteTeam, create_team
from widget_server.counter.numbers import VisitNumbers
from widget_server.db.engine import create_engine
from widget_server.runtime import Runtime


async def test_two_instances_reserving_at_once_never_share_a_number(
    state: Runtime, team: SiteTeam, database_url: str
) -> None:
    other_engine = create_engine(database_url)
    try:
        first, second = VisitNumbers(block_size=5), VisitNumbers(block_size=5)

        async def take(numbers: VisitNumbers, engine: AsyncEngine) -> list[int]:
            return [await numbers.take(engine, team.site.id) for _ in range(40)]

        results = await asyncio.gather(
            *(take(first, state.engine) for _ in range(4)),
            *(take(second, other_engine) for _ in range(4)),
        )
    finally:
        await other_engine.dispose()
    everything = [number for result in results for number in result]
    assert len(everything) == 320
    assert len(set(everything)) == 320
    assert min(everything) == 1000


async def test_a_number_issued_elsewhere_is_known_after_one_read(
    state: Runtime, team: SiteTeam
) -> None:
    here, elsewhere = VisitNumbers(), VisitNumbers()
    number = await elsewhere.take(state.engine, team.site.id)
    assert await here.was_issued(state.engine, team.site.id, number)
    assert await here.was_issued(state.engine, team.site.id, number + 49)  # reserved block
    assert not await here.was_issued(state.engine, team.site.id, number + 50)
    assert not await here.was_issued(state.engine, team.site.id, 999)


async def test_sites_have_their_own_numbers(state: Runtime, team: SiteTeam) -> None:
    other = await create_team(state, prefix="b-")
    numbers = VisitNumbers()
    assert await numbers.take(state.engine, team.site.id) == 1000
    assert await numbers.take(state.engine, other.site.id) == 1000
    numbers.block_size = 10
    assert await numbers.take(state.engine, team.site.id) == 1001  # the first block goes on
    assert not await numbers.was_issued(state.engine, other.site.id, 1050)
