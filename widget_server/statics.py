"""``/static``: Starlette's ``StaticFiles`` with the caching each kind of URL can take.

A URL with ``?v=HASH`` (the widget bundles the counter names, see ``widgets.service``) changes
whenever its file does, so browsers keep it for a year without asking again. Any other file (the
console's stylesheet and scripts, whose ES modules import each other by plain relative paths) is
revalidated on every use (``no-cache`` with its ETag: a 304 when unchanged), so a deploy never
leaves a page running a mix of old and new modules.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

VERSIONED = "public, max-age=31536000, immutable"
REVALIDATED = "no-cache"


class CachedStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            versioned = bool(query.get("v"))
            response.headers["Cache-Control"] = VERSIONED if versioned else REVALIDATED
        return response
