"""Browser tests of the counter: the real server (with its background jobs, so the hit buffer is
written every second as in production), fixture pages on a second origin, and what the page sends
read from Chromium's own network log."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, LiveServer, seed, serve_app
from tests.js.pages import SitePages
from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access, Site
from widget_server.counter import service as counter
from widget_server.counter import tables
from widget_server.runtime import Runtime


@pytest.fixture
def counting_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Like ``live_server``, but with ``run_jobs`` on: the counter's buffer is flushed every
    second by the server itself, so tests read what it stored by polling the database."""
    with serve_app(tmp_path, run_jobs=True) as server:
        yield server


@pytest.fixture
def pages(counting_server: LiveServer) -> Iterator[SitePages]:
    with SitePages(counting_server.url) as served:
        yield served


def create_site(server: LiveServer, origin: str, **settings: Any) -> Site:
    """A site allowing ``origin``, with counter settings (``allow_bots`` on unless told: the
    Chromium driven by Playwright is an automated browser)."""

    async def make(state: Runtime) -> Site:
        owner = await accounts.create_user(
            state.engine,
            email=f"owner-{secrets.token_hex(4)}@example.com",
            name="Olivia Owner",
            password=PASSWORD,
        )
        site = await accounts.create_site(
            state.engine, name="Shop", owner=owner, allowed_origins=[origin]
        )
        access = Access(user=owner, site=site, role="owner")
        await counter.update_settings(access, state.engine, **{"allow_bots": True, **settings})
        return site

    return seed(server, make)


@pytest.fixture
def open_site(counting_server: LiveServer, pages: SitePages) -> Callable[..., Site]:
    """Create a site with the given counter settings; the fixture pages load its counter."""

    def make(**settings: Any) -> Site:
        site = create_site(counting_server, pages.origin, **settings)
        pages.site_key = site.key
        return site

    return make


# --- what the page sends -----------------------------------------------------------------------


class Hits:
    """The POSTs a page sends to ``/t/``, in the order it sends them, with their answers.

    Read through the Chrome DevTools Protocol: Playwright's ``request.post_data`` is empty for
    ``sendBeacon``'s Blob bodies, while ``Network.getRequestPostData`` has them.
    """

    def __init__(self, page: Any) -> None:
        self.page = page
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.responseReceived", self._answered)
        self.cdp.send("Network.enable", {"maxPostDataSize": 65536})
        self._ids: list[str] = []
        self._requests: dict[str, dict[str, Any]] = {}
        self._bodies: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, int] = {}
        self.preflights = 0

    def _sent(self, event: dict[str, Any]) -> None:
        request = event["request"]
        if "/t/" not in request["url"]:
            return
        if request["method"] == "OPTIONS":
            self.preflights += 1
            return
        self._ids.append(event["requestId"])
        self._requests[event["requestId"]] = request

    def _answered(self, event: dict[str, Any]) -> None:
        if event["requestId"] in self._requests:
            self.statuses[event["requestId"]] = event["response"]["status"]

    def _body(self, request_id: str) -> dict[str, Any]:
        """The hit's JSON body; ``{}`` when Chromium no longer has it (a beacon sent as the page
        navigated away: its hit is checked in the database instead)."""
        if request_id not in self._bodies:
            text = self._requests[request_id].get("postData")
            if text is None:
                try:
                    answer = self.cdp.send("Network.getRequestPostData", {"requestId": request_id})
                except Exception:
                    return {}
                text = answer["postData"]
            self._bodies[request_id] = json.loads(text)
        return self._bodies[request_id]

    def __len__(self) -> int:
        return len(self._ids)

    def all(self) -> list[dict[str, Any]]:
        return [self._body(request_id) for request_id in self._ids]

    def content_types(self) -> list[str]:
        return [
            next(v for k, v in self._requests[i]["headers"].items() if k.lower() == "content-type")
            for i in self._ids
        ]

    def wait(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Wait until at least ``count`` hits were sent; returns them all."""
        deadline = time.monotonic() + timeout
        while len(self._ids) < count:
            assert time.monotonic() < deadline, f"{len(self._ids)} hits sent, wanted {count}"
            self.page.wait_for_timeout(25)
        return self.all()

    def wait_answered(self, timeout: float = 10) -> list[int]:
        """The HTTP status of each hit sent so far, once all have their answer."""
        deadline = time.monotonic() + timeout
        while len(self.statuses) < len(self._ids):
            assert time.monotonic() < deadline, "some hits got no answer"
            self.page.wait_for_timeout(25)
        return [self.statuses[request_id] for request_id in self._ids]

    def until_event(self, name: str, timeout: float = 10) -> list[dict[str, Any]]:
        """Every hit up to the event ``name`` (a marker the test sends last: hits leave in call
        order, so nothing called before it is still to come)."""
        deadline = time.monotonic() + timeout
        while True:
            sent = self.all()
            for index, hit in enumerate(sent):
                if hit.get("t") == "e" and hit.get("n") == name:
                    return sent[:index]
            assert time.monotonic() < deadline, f"no event {name!r} among {sent}"
            self.page.wait_for_timeout(25)


def page_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def loaded(page: Any) -> None:
    """The counter has run (it sets ``vitrine.l`` last)."""
    page.wait_for_function("window.vitrine && window.vitrine.l === true")


def send_end(page: Any) -> None:
    page.evaluate("vitrine('event', 'end')")


def pageview_urls(hits: list[dict[str, Any]]) -> list[str]:
    return [hit["u"] for hit in hits if hit["t"] == "p"]


# --- what the server stored --------------------------------------------------------------------


@dataclass
class Stored:
    visits: list[dict[str, Any]] = field(default_factory=list)
    pageviews: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def stored(server: LiveServer, site: Site) -> Stored:
    async def read(state: Runtime) -> Stored:
        found = Stored()
        async with state.engine.connect() as conn:
            for name in ("visits", "pageviews", "events"):
                table = getattr(tables, name)
                rows = await conn.execute(
                    select(table).where(table.c.site_id == site.id).order_by(table.c.id)
                )
                getattr(found, name).extend(dict(row._mapping) for row in rows)
        return found

    return seed(server, read)


def wait_stored(
    server: LiveServer, site: Site, ready: Callable[[Stored], bool], timeout: float = 10
) -> Stored:
    """Poll the database until ``ready`` holds (the server writes its buffer every second)."""
    deadline = time.monotonic() + timeout
    while True:
        found = stored(server, site)
        if ready(found):
            return found
        assert time.monotonic() < deadline, f"not stored in {timeout}s: {found}"
        time.sleep(0.1)
