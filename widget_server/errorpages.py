"""Renders every error in the one shape: JSON under /api/ and for non-browsers, a page otherwise."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from widget_server import errors
from widget_server.i18n import gettext
from widget_server.templating import templates

log = logging.getLogger(__name__)

_BY_STATUS: dict[int, type[errors.VitrineError]] = {
    400: errors.BadRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    409: errors.Conflict,
    413: errors.PayloadTooLarge,
    422: errors.InvalidRequest,
    429: errors.TooManyRequests,
    503: errors.ServiceUnavailable,
}


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    return "text/html" not in request.headers.get("accept", "")


def render_error(request: Request, exc: errors.VitrineError) -> Response:
    headers = dict(exc.headers)
    if isinstance(exc, errors.Unauthorized) and request.url.path.startswith("/api/"):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="vitrine"')
    if wants_json(request):
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)
    if isinstance(exc, errors.Unauthorized) and request.method == "GET":
        # A page that needs a login: go log in, then come back here.
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?{urlencode({'next': target})}", status_code=303)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"error": exc, "message": gettext(exc.message)},
        status_code=exc.status,
        headers=headers,
    )


async def handle_vitrine_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.VitrineError)
    if exc.status >= 500:
        log.error("request %s failed: %s", request.url.path, exc.message)
    return render_error(request, exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    cls = _BY_STATUS.get(exc.status_code, errors.BadRequest)
    message = None if exc.detail in (None, "", "Not Found", "Method Not Allowed") else exc.detail
    error = cls(message, headers=dict(exc.headers or {}))
    if exc.status_code == 405 and exc.headers and "Allow" in exc.headers:
        error.headers["Allow"] = exc.headers["Allow"]
    return render_error(request, error)


async def handle_client_disconnect(request: Request, exc: Exception) -> Response:
    """The client went away while its body was being read (a page closed or navigated away
    mid-request): the handler stopped where it read the body, and nobody reads the answer.
    No traceback, no 500."""
    assert isinstance(exc, ClientDisconnect)
    log.info("client left during %s %s", request.method, request.url.path)
    return render_error(request, errors.BadRequest())


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return render_error(request, errors.VitrineError())
