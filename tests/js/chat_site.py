"""What the chat's browser tests share: a live server and the fixture pages, a site with the chat
on (set up through the real accounts, counter and widgets services), an operator who talks
through the real console socket, and the network requests a page makes.

Import the fixtures (``chat_server``, ``chat_pages``, ``chat_site``) into a test module to use
them.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.conftest import PASSWORD, LiveServer, csrf_from, seed, serve_app
from tests.js.pages import SitePages
from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access, Site, User
from widget_server.counter import service as counter
from widget_server.runtime import Runtime
from widget_server.widgets import service as widgets

CLOSED_ALL_WEEK: dict[str, list[list[str]]] = {
    day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


@dataclass
class ChatSite:
    site: Site
    owner: User

    @property
    def key(self) -> str:
        return self.site.key


@pytest.fixture
def chat_server(tmp_path: Path) -> Iterator[LiveServer]:
    with serve_app(tmp_path) as server:
        yield server


@pytest.fixture
def chat_pages(chat_server: LiveServer) -> Iterator[SitePages]:
    with SitePages(chat_server.url) as served:
        yield served


@pytest.fixture
def chat_site(chat_server: LiveServer, chat_pages: SitePages) -> Callable[..., ChatSite]:
    """``chat_site(chat=True, **widget_settings)``: a site allowing the fixture pages' origin,
    counting Playwright's Chromium, with the chat on (unless ``chat=False``) and the given widget
    settings; the fixture pages load its counter."""

    def make(chat: bool = True, **settings: Any) -> ChatSite:
        async def go(state: Runtime) -> ChatSite:
            owner = await accounts.create_user(
                state.engine,
                email=f"owner-{secrets.token_hex(4)}@example.com",
                name="Olivia Owner",
                password=PASSWORD,
            )
            site = await accounts.create_site(
                state.engine, name="Shop", owner=owner, allowed_origins=[chat_pages.origin]
            )
            access = Access(user=owner, site=site, role="owner")
            await counter.update_settings(access, state.engine, allow_bots=True)
            if chat:
                await widgets.enable_chat(access, state.engine)
            if settings:
                await widgets.update_widget(access, state.engine, **settings)
            return ChatSite(site=site, owner=owner)

        made = seed(chat_server, go)
        chat_pages.site_key = made.key
        return made

    return make


# --- the page ------------------------------------------------------------------------------------


class Requests:
    """The requests a page made, in order."""

    def __init__(self, page: Any) -> None:
        self.all: list[Any] = []
        page.on("request", lambda request: self.all.append(request))

    def to(self, fragment: str) -> list[Any]:
        return [request for request in self.all if fragment in request.url]

    def bodies(self, fragment: str) -> list[dict[str, Any]]:
        """The JSON bodies of the POSTs whose URL contains ``fragment``."""
        return [
            json.loads(request.post_data)
            for request in self.to(fragment)
            if request.method == "POST"
        ]


def watch(page: Any) -> list[str]:
    """Everything that would show an attack worked: dialogs (accepted nothing), page errors."""
    seen: list[str] = []

    def dialog(shown: Any) -> None:
        seen.append(f"dialog: {shown.message}")
        shown.dismiss()

    page.on("dialog", dialog)
    page.on("pageerror", lambda error: seen.append(f"error: {error}"))
    return seen


def launcher(page: Any) -> Any:
    return page.locator("button.l")


def panel(page: Any) -> Any:
    return page.locator("div.p")


def open_chat(page: Any) -> None:
    launcher(page).click()
    panel(page).wait_for(state="visible")


def write(page: Any, text: str) -> None:
    box = panel(page).locator("form textarea")
    box.fill(text)
    box.press("Enter")


def bubbles(page: Any, kind: str = "") -> list[str]:
    """The texts of the messages on screen (``kind``: "v" visitor, "o" operator, "s" system)."""
    texts: list[str] = page.locator(f"div.p .m{'.' + kind if kind else ''} p").all_text_contents()
    return texts


def wait_until(page: Any, check: Callable[[], Any], timeout: float = 10, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        page.wait_for_timeout(50)


# --- the operator ----------------------------------------------------------------------------


class Operator:
    """The site's owner in the console: an HTTP session (console JSON) and the console socket."""

    def __init__(self, server: LiveServer, site: ChatSite) -> None:
        self.server = server
        self.site = site
        self.http = httpx.Client(base_url=server.url)
        page = self.http.get("/console/login")
        answer = self.http.post(
            "/console/login",
            data={
                "email": site.owner.email,
                "password": PASSWORD,
                "csrf_token": csrf_from(page.text),
            },
        )
        assert answer.status_code == 303, answer.text
        self.socket: ClientConnection | None = None
        self.frames: list[dict[str, Any]] = []  # received, not taken yet
        self.closing = ExitStack()

    def __enter__(self) -> Operator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.close()
        self.http.close()

    def chats(self, tab: str = "new") -> list[dict[str, Any]]:
        answer = self.http.get(f"/console/sites/{self.site.key}/chats.json", params={"tab": tab})
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()
        if isinstance(found, dict):  # {"conversations": [...]} is accepted as well
            found = found.get("conversations", [])
        return found

    def chat(self, conversation_id: int) -> dict[str, Any]:
        answer = self.http.get(f"/console/sites/{self.site.key}/chats/{conversation_id}.json")
        assert answer.status_code == 200, answer.text
        detail: dict[str, Any] = answer.json()
        return detail

    def wait_chat(self, page: Any, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first conversation of the site (open or closed) once ``ready`` holds for its
        detail."""

        def check() -> dict[str, Any] | None:
            for summary in self.chats("all") + self.chats("closed"):
                detail = self.chat(summary["id"])
                if ready(detail):
                    return detail
            return None

        found: dict[str, Any] = wait_until(page, check, what="the stored conversation")
        return found

    def connect(self) -> ClientConnection:
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        url = re.sub(r"^http", "ws", self.server.url) + "/ws/console"
        self.socket = self.closing.enter_context(
            connect(
                url,
                additional_headers={"Origin": self.server.url, "Cookie": cookies},
                open_timeout=10,
            )
        )
        self.socket.send(json.dumps({"t": "hello", "site": self.site.key, "since": {}}))
        welcome = self.receive("welcome")
        assert welcome["t"] == "welcome"
        return self.socket

    def receive(self, kind: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
        """The first frame of type ``kind`` (and the ``match`` values) not taken yet; frames of
        other kinds stay for later calls."""
        assert self.socket is not None
        deadline = time.monotonic() + timeout
        while True:
            for frame in self.frames:
                if frame.get("t") == kind and all(frame.get(k) == v for k, v in match.items()):
                    self.frames.remove(frame)
                    return frame
            frame = json.loads(self.socket.recv(timeout=deadline - time.monotonic()))
            if frame.get("t") == "error" and kind != "error":
                raise AssertionError(f"refused: {frame}")
            self.frames.append(frame)

    def send(self, frame: dict[str, Any]) -> None:
        (self.socket or self.connect()).send(json.dumps(frame))

    def reply(self, conversation_id: int, text: str) -> dict[str, Any]:
        """Send a reply; returns its ack."""
        cid = "op" + secrets.token_hex(8)
        self.send({"t": "send", "c": conversation_id, "cid": cid, "text": text})
        return self.receive("ack", cid=cid)
