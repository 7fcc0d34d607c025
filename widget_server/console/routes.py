"""Every console route, gathered from the console's page modules."""

from __future__ import annotations

from starlette.routing import BaseRoute

from widget_server.console import api_keys, auth, operators, sites

routes: list[BaseRoute] = [*auth.routes, *sites.routes, *operators.routes, *api_keys.routes]
