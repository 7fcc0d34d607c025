"""Placeholder: the outbox helper fills this in."""

from __future__ import annotations

from widget_server.runtime import Runtime


async def deliver_due(state: Runtime) -> int:
    raise NotImplementedError
