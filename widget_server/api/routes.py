"""/api/v2: the site of the calling key, and a JSON 404 for every unknown API path."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from widget_server.api.auth import api_caller
from widget_server.api.serialize import site_json
from widget_server.errors import NotFound


async def get_site(request: Request) -> JSONResponse:
    caller = await api_caller(request)
    return JSONResponse(site_json(caller.site))


async def unknown(request: Request) -> JSONResponse:
    await api_caller(request)
    raise NotFound(f"There is no API endpoint at {request.url.path}.")


routes: list[BaseRoute] = [Route("/api/v2/site", get_site, methods=["GET"])]

# Mounted last, after every feature's API routes.
fallback: list[BaseRoute] = [
    Route(
        "/api/{path:path}",
        unknown,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    )
]
