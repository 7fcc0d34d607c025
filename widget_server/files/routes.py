"""/files/{id}: stored files (avatars are public: visitors see them in the chat)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from widget_server.files.service import load_file
from widget_server.runtime import runtime


async def get_file(request: Request) -> Response:
    stored = await load_file(runtime(request).engine, request.path_params["file_id"])
    etag = f'"{stored.sha256[:32]}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=86400, immutable",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(stored.data, media_type=stored.content_type, headers=headers)


routes: list[BaseRoute] = [Route("/files/{file_id}", get_file, methods=["GET"])]
