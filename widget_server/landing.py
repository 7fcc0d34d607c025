"""A directory of static pages served at ``/`` (``VITRINE_LANDING_DIR``; ``vitrine demo`` uses
``examples/landing/``), with the counter code of one site pasted into every ``.html`` page.

A page marks the spot with ``<!-- vitrine:snippet -->`` (in ``<head>``, where an owner pastes
it); the marker becomes the snippet of ``VITRINE_LANDING_SITE``, or stays as it is when no site
is set. Other files are served unchanged, as by Starlette's ``StaticFiles``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import anyio
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from widget_server.runtime import runtime
from widget_server.widgets.snippet import snippet

PLACEHOLDER = "<!-- vitrine:snippet -->"


def fill_in(page: str, base_url: str, site_key: str | None) -> str:
    """The page with the snippet placeholder replaced by the site's snippet."""
    if site_key is None:
        return page
    return page.replace(PLACEHOLDER, snippet(base_url, site_key))


class LandingPage(StaticFiles):
    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        if str(full_path).endswith(".html"):
            # Rendered in get_response; the file's own ETag would not cover the snippet.
            return FileResponse(full_path, status_code=status_code, stat_result=stat_result)
        return super().file_response(full_path, stat_result, scope, status_code)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if isinstance(response, FileResponse) and str(response.path).endswith(".html"):
            return await self._render(Path(response.path), response.status_code, scope)
        return response

    async def _render(self, file: Path, status_code: int, scope: Scope) -> Response:
        settings = runtime(HTTPConnection(scope)).settings
        page = await anyio.Path(file).read_text(encoding="utf-8")
        body = fill_in(page, settings.base_url, settings.landing_site).encode()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers = {"etag": etag, "cache-control": "no-cache"}
        tags = Headers(scope=scope).get("if-none-match", "").split(",")
        if status_code == 200 and etag in {tag.strip().removeprefix("W/") for tag in tags}:
            return Response(status_code=304, headers=headers)
        return HTMLResponse(body, status_code=status_code, headers=headers)
