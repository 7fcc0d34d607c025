"""Bearer secret-key authentication for /api/v2."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from widget_server.accounts import service as accounts
from widget_server.accounts.models import ApiKey, Site
from widget_server.errors import Unauthorized
from widget_server.runtime import runtime


@dataclass(frozen=True)
class ApiCaller:
    key: ApiKey
    site: Site


async def api_caller(request: Request) -> ApiCaller:
    """The key and site behind ``Authorization: Bearer <secret key>``, or 401."""
    cached = getattr(request.state, "api_caller", None)
    if isinstance(cached, ApiCaller):
        return cached
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Send your secret key as 'Authorization: Bearer <key>'.")
    key, site = await accounts.authenticate_api_key(runtime(request).engine, secret.strip())
    caller = ApiCaller(key=key, site=site)
    request.state.api_caller = caller
    return caller
