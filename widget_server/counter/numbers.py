"""Visit numbers, handed out from memory in blocks reserved in the database.

A process reserves ``block_size`` numbers for a site at a time (``store.reserve_numbers``, one
atomic UPDATE), so a new visit costs no database round trip until the block runs out, and two
processes never give out one number. Numbers start at 1000 and stay short: they double as promo
codes a caller reads out on the phone. Numbers of a block a process never uses are skipped.
A site that uses a block up within ``FAST`` seconds gets a block twice as large next time (up
to ``MAX_BLOCK``), so a busy site does not wait on the database every fifty visits; and when
half a block is given out within ``FAST`` seconds of its reservation, the next block is
reserved in the background, so a busy site's new visits do not wait on the database at all
(on SQLite a reservation queues behind the write buffer's flush for the write lock, which under
load takes tens of milliseconds). A process holds at most one block ahead per site; its
numbers, too, are skipped if the process stops before using them.

Whether a number the browser sends was ever issued is answered from the site's high-water mark
(the highest number any process may have handed out), kept in memory and read again from the
database only when a larger number arrives.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.counter import store
from widget_server.counter.store import FIRST_VISIT_NUMBER

log = logging.getLogger(__name__)

FAST = 10.0
MAX_BLOCK = 1000


class VisitNumbers:
    def __init__(self, block_size: int = 50) -> None:
        self.block_size = block_size
        self._sizes: dict[int, tuple[int, float]] = {}  # site id -> (last block size, taken at)
        self._blocks: dict[int, list[int]] = {}  # site id -> [next, end)
        self._ahead: dict[int, tuple[int, int]] = {}  # site id -> the next block, [start, end)
        self._refills: dict[int, asyncio.Task[None]] = {}  # site id -> reserving it
        self._high: dict[int, int] = {}  # site id -> highest number issued
        self._locks: dict[int, asyncio.Lock] = {}

    def _lock(self, site_id: int) -> asyncio.Lock:
        return self._locks.setdefault(site_id, asyncio.Lock())

    def _from_block(self, site_id: int) -> int | None:
        block = self._blocks.get(site_id)
        if block is None or block[0] >= block[1]:
            return None
        number = block[0]
        block[0] += 1
        return number

    async def take(self, engine: AsyncEngine, site_id: int) -> int:
        """A number never handed out before, for a new visit of the site."""
        number = self._from_block(site_id)
        if number is None:
            async with self._lock(site_id):
                number = self._from_block(site_id)  # another request may have reserved meanwhile
                if number is None:
                    ahead = self._ahead.pop(site_id, None)
                    start, end = ahead or await self._reserve(engine, site_id)
                    self._blocks[site_id] = [start + 1, end]
                    number = start
        self._maybe_reserve_ahead(engine, site_id)
        return number

    async def _reserve(self, engine: AsyncEngine, site_id: int) -> tuple[int, int]:
        """A new block (the caller holds the site's lock)."""
        start, end = await store.reserve_numbers(engine, site_id, self._size(site_id))
        self._high[site_id] = max(self._high.get(site_id, 0), end - 1)
        return start, end

    def _maybe_reserve_ahead(self, engine: AsyncEngine, site_id: int) -> None:
        """Past the middle of a block reserved less than ``FAST`` seconds ago (a busy site),
        reserve the next one in the background."""
        block = self._blocks[site_id]
        size, at = self._sizes.get(site_id, (0, 0.0))
        if (
            block[1] - block[0] > size // 2
            or site_id in self._ahead
            or site_id in self._refills
            or time.monotonic() - at >= FAST
        ):
            return
        task = asyncio.create_task(self._reserve_ahead(engine, site_id), name="visit-numbers")
        self._refills[site_id] = task

    async def _reserve_ahead(self, engine: AsyncEngine, site_id: int) -> None:
        try:
            async with self._lock(site_id):
                if site_id not in self._ahead:
                    self._ahead[site_id] = await self._reserve(engine, site_id)
        except Exception as exc:  # the next take reserves in line instead
            log.warning("counter: could not reserve visit numbers ahead for site %d: %s",
                        site_id, exc)  # fmt: skip
        finally:
            self._refills.pop(site_id, None)

    def _size(self, site_id: int) -> int:
        now = time.monotonic()
        last, at = self._sizes.get(site_id, (0, 0.0))
        size = min(MAX_BLOCK, last * 2) if now - at < FAST else self.block_size
        size = max(size, self.block_size)
        self._sizes[site_id] = (size, now)
        return size

    async def was_issued(self, engine: AsyncEngine, site_id: int, number: int) -> bool:
        """Whether ``number`` may have been given to a visitor of the site (by any process)."""
        if number < FIRST_VISIT_NUMBER:
            return False
        if number <= self._high.get(site_id, 0):
            return True
        async with self._lock(site_id):
            if number > self._high.get(site_id, 0):
                high = await store.highest_issued(engine, site_id)
                self._high[site_id] = max(self._high.get(site_id, 0), high)
        return number <= self._high[site_id]
