"""Imports every feature's tables so ``metadata`` describes the whole schema (for Alembic)."""

from widget_server.access import tables as _access  # noqa: F401
from widget_server.accounts import tables as _accounts  # noqa: F401
from widget_server.api import tables as _api  # noqa: F401
from widget_server.chat import tables as _chat  # noqa: F401
from widget_server.counter import tables as _counter  # noqa: F401
from widget_server.db.metadata import metadata
from widget_server.files import tables as _files  # noqa: F401
from widget_server.outbox import tables as _outbox  # noqa: F401
from widget_server.payments import tables as _payments  # noqa: F401
from widget_server.widgets import tables as _widgets  # noqa: F401

__all__ = ["metadata"]
