"""Periodic background work inside the server process.

A task is an async function run every ``interval`` seconds. Tasks that work on shared rows claim
them with a lease in the database (see ``outbox.store.claim_due``), so several processes can run
the same tasks side by side and never do one piece of work twice. No broker, no Celery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    interval: float
    run: Callable[[], Awaitable[object]]


class JobRunner:
    def __init__(self, tasks: list[PeriodicTask]) -> None:
        self.tasks = tasks
        self._running: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping.clear()
        self._running = [
            asyncio.create_task(self._loop(task), name=f"job:{task.name}") for task in self.tasks
        ]

    async def stop(self) -> None:
        self._stopping.set()
        for running in self._running:
            running.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._running = []

    async def run_once(self) -> None:
        """Run every task once, in order (tests and ``vitrine`` commands use this)."""
        for task in self.tasks:
            await task.run()

    async def _loop(self, task: PeriodicTask) -> None:
        while not self._stopping.is_set():
            try:
                await task.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "background task %s failed; it runs again in %ss", task.name, task.interval
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=task.interval)
