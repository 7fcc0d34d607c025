"""Placeholder: the reports helper fills this in (the Sources page, CSV, the reports API)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
api_routes: list[BaseRoute] = []
