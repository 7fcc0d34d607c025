"""The site that pastes the counter: the fixture pages of tests/js/fixtures/, served from an origin
of their own (``http://localhost:PORT``, while the live server is ``http://127.0.0.1:PORT``), so
the counter runs cross-site as it does in production.

Markers in a fixture page, filled in per request: ``<!--snippet-->`` (the pasted code exactly as
the console shows it), ``<!--stub-->`` and ``<!--counter-->`` (its two tags, for pages that put
code between them), ``{{base}}`` (the live server's URL) and ``{{key}}`` (the site key).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from widget_server.widgets.snippet import STUB, counter_url, snippet

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class SitePages:
    """A static HTTP server in a thread; ``site_key`` and ``base`` say which counter pages load."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.site_key = ""
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                name = urlsplit(self.path).path.rsplit("/", 1)[-1] or "index.html"
                file = FIXTURES / name
                if not name.endswith(".html") or not file.is_file():
                    self._answer(404, b"not here", "text/plain")
                    return
                self._answer(200, pages.render(file.read_text()).encode(), "text/html")

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def render(self, html: str) -> str:
        src = counter_url(self.base, self.site_key)
        return (
            html.replace("<!--snippet-->", snippet(self.base, self.site_key))
            .replace("<!--stub-->", f"<script>{STUB}</script>")
            .replace("<!--counter-->", f'<script async src="{src}"></script>')
            .replace("{{base}}", self.base)
            .replace("{{key}}", self.site_key)
        )

    def url(self, path: str) -> str:
        return f"{self.origin}/{path.lstrip('/')}"

    def __enter__(self) -> SitePages:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
