"""The write buffer: hits become rows in memory and are written in batches, never one per request.

A flush writes everything buffered in one transaction (``store.insert_hits``). It runs
every second and as soon as ``batch_size`` rows wait (the flusher task, started by the app when
it runs background jobs), on demand (``counter.service.flush``), and once more at shutdown,
before the engine is disposed. When the database fails, the rows stay for the next flush. The
buffer holds at most ``max_rows`` rows: beyond that ``add`` refuses with 429 "busy, retry" (the
script drops the hit; a backend retries), so a long database outage cannot exhaust memory.

Each process has its own buffer (see ARCHITECTURE.md, "Scaling out").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.accounts import service as accounts
from widget_server.counter import store
from widget_server.errors import TooManyRequests
from widget_server.i18n import _

log = logging.getLogger(__name__)

Row = dict[str, Any]


class HitBuffer:
    def __init__(
        self, *, batch_size: int = 500, max_rows: int = 100_000, interval: float = 1.0
    ) -> None:
        self.batch_size = batch_size
        self.max_rows = max_rows
        self.interval = interval
        self.visits: list[Row] = []
        self.pageviews: list[Row] = []
        self.events: list[Row] = []
        self._in_flight = 0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def __len__(self) -> int:
        return len(self.visits) + len(self.pageviews) + len(self.events) + self._in_flight

    def make_room(self, rows: int = 2) -> None:
        """Refuse (429) when ``rows`` more would pass the memory cap."""
        self._room(rows)

    def _room(self, rows: int) -> int:
        """``make_room``, returning how many rows are buffered."""
        size = len(self)
        if size + rows > self.max_rows:
            message = _("The counter is busy; retry in a few seconds.")
            raise TooManyRequests(message, retry_after=5)
        return size

    def add(
        self, *, visit: Row | None = None, pageview: Row | None = None, event: Row | None = None
    ) -> None:
        """Buffer the rows of one hit together (no await here: a flush takes all or none)."""
        size = self._room(3)
        if visit is not None:
            self.visits.append(visit)
            size += 1
        if pageview is not None:
            self.pageviews.append(pageview)
            size += 1
        if event is not None:
            self.events.append(event)
            size += 1
        if size >= self.batch_size:
            self._wake.set()

    async def flush(self, engine: AsyncEngine) -> int:
        """Write every buffered row now; returns how many were written (0 when the database
        failed: the rows are kept for the next flush)."""
        async with self._lock:
            batch = (self.visits, self.pageviews, self.events)
            count = sum(len(rows) for rows in batch)
            if not count:
                return 0
            self.visits, self.pageviews, self.events = [], [], []
            self._in_flight = count
            try:
                async with engine.begin() as conn:
                    await store.insert_hits(conn, *batch)
            except BaseException as exc:
                self._restore(batch)
                if not isinstance(exc, Exception):
                    raise  # cancelled: the transaction rolled back, the rows are kept
                log.error("counter: %d buffered rows not written, kept for later: %s", count, exc)
                if isinstance(exc, IntegrityError):
                    await self._drop_deleted_sites(engine)
                return 0
            finally:
                self._in_flight = 0
            return count

    def _restore(self, batch: tuple[list[Row], list[Row], list[Row]]) -> None:
        self.visits = batch[0] + self.visits
        self.pageviews = batch[1] + self.pageviews
        self.events = batch[2] + self.events

    async def _drop_deleted_sites(self, engine: AsyncEngine) -> None:
        """Rows of a site deleted since they were buffered can never be written: drop them, so
        they do not hold back everyone else's."""
        with contextlib.suppress(Exception):
            site_ids = {row["site_id"] for rows in (self.visits, self.pageviews, self.events)
                        for row in rows}  # fmt: skip
            alive = await accounts.existing_site_ids(engine, site_ids)
            if alive == site_ids:
                return
            log.warning("counter: dropping buffered rows of deleted sites %s", site_ids - alive)
            self.visits = [row for row in self.visits if row["site_id"] in alive]
            self.pageviews = [row for row in self.pageviews if row["site_id"] in alive]
            self.events = [row for row in self.events if row["site_id"] in alive]

    # --- the flusher ------------------------------------------------------------------------

    def start(self, engine: AsyncEngine) -> None:
        """Flush every ``interval`` seconds, and at once when ``batch_size`` rows wait."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(engine), name="counter-flush")

    async def stop(self) -> None:
        """Let a flush under way finish, then end the flusher (the caller flushes once more)."""
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self, engine: AsyncEngine) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.flush(engine)
            except Exception:  # flush logs database errors itself; this is a bug
                log.exception("counter: the flusher failed")
