"""Placeholder: the ingestion helper fills this in (/s/{key}.js, /t/{key}, counter settings)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
api_routes: list[BaseRoute] = []
