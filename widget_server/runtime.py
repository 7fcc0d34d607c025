"""What a running app holds: settings, the database engine, the bus, the counter's in-memory
state (its write buffer above all). Routes reach it by request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from widget_server.chat.hub import ChatHub
from widget_server.counter.state import CounterState
from widget_server.payments.hooks import PaymentHooks
from widget_server.settings import Settings

if TYPE_CHECKING:
    from widget_server.bus import Bus


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    bus: Bus
    counter: CounterState = field(default_factory=CounterState)
    chat: ChatHub = field(default_factory=ChatHub)  # this process's chat sockets
    payment_hooks: PaymentHooks = field(default_factory=PaymentHooks)  # set up by create_app


def runtime(conn: HTTPConnection) -> Runtime:
    value = conn.app.state.runtime
    assert isinstance(value, Runtime)
    return value
