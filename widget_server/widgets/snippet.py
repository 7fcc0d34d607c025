"""The counter code the owner pastes into every page (shown in the console's Counter code tab).

The first tag only queues calls (``vitrine.q``) until the counter loads; the second loads it.
"""

from __future__ import annotations

from html import escape

STUB = "window.vitrine=window.vitrine||function(){(vitrine.q=vitrine.q||[]).push(arguments)};"


def counter_url(base_url: str, site_key: str) -> str:
    return f"{base_url.rstrip('/')}/s/{site_key}.js"


def snippet(base_url: str, site_key: str) -> str:
    src = escape(counter_url(base_url, site_key), quote=True)
    return f'<script>{STUB}</script><script async src="{src}"></script>'
