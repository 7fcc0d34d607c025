"""Console test helpers: more HTTP clients on the same app, generated images, page scraping."""

from __future__ import annotations

import html
import io
import re
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from PIL import Image, ImageDraw
from starlette.applications import Starlette

ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def new_client(app: Starlette) -> AsyncIterator[ClientFactory]:
    """Another browser on the same app (its own cookies), e.g. for a second user."""
    made: list[httpx.AsyncClient] = []

    def make(**options: object) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 40000))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver", **options)
        made.append(http)
        return http

    yield make
    for http in made:
        await http.aclose()


def image(width: int, height: int, image_format: str = "PNG") -> bytes:
    """A real image of the given size and format: a simple head-and-shoulders portrait."""
    picture = Image.new("RGB", (width, height), (52, 163, 153))
    draw = ImageDraw.Draw(picture)
    unit = min(width, height)
    cx, cy = width / 2, height / 2
    draw.ellipse(
        (cx - unit * 0.2, cy - unit * 0.32, cx + unit * 0.2, cy + unit * 0.08), fill="#f4e3d3"
    )
    draw.ellipse(
        (cx - unit * 0.38, cy + unit * 0.14, cx + unit * 0.38, cy + unit * 0.9), fill="#1e2430"
    )
    buffer = io.BytesIO()
    picture.save(buffer, format=image_format)
    return buffer.getvalue()


def text_of(page: str) -> str:
    """The page's visible text, tags dropped and entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def element_text(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    assert match, f"no element #{element_id} on the page"
    return html.unescape(match.group(1))


def row_with(page: str, needle: str) -> str:
    """The HTML of the first table row that contains ``needle``."""
    for row in re.findall(r"<tr\b.*?</tr>", page, re.S):
        if needle in row:
            return row
    raise AssertionError(f"no table row contains {needle!r}")
