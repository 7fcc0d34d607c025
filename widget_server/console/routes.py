"""Every console route, gathered from the console's page modules."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
