"""The chat suite: service rules on a temporary database, and socket flows against a real
uvicorn server (``serve_app``) through the ``websockets`` client library.

``ChatVisitor`` and ``ChatOperator`` here are test clients speaking docs/chat-protocol.md.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from tests.conftest import PASSWORD, LiveServer, SiteTeam, create_team, csrf_from, seed
from widget_server.runtime import Runtime
from widget_server.widgets import service as widgets

ORIGIN = "https://shop.example.com"
Frame = dict[str, Any]


async def chat_team(state: Runtime, prefix: str = "", **settings: Any) -> SiteTeam:
    """A team (owner, admin, operator) whose site has the chat on, with these widget settings."""
    team = await create_team(state, prefix)
    await widgets.enable_chat(team.access(), state.engine)
    if settings:
        await widgets.update_widget(team.access(), state.engine, **settings)
    return team


def live_team(server: LiveServer, **settings: Any) -> SiteTeam:
    return seed(server, lambda state: chat_team(state, **settings))


def new_cid() -> str:
    return "c" + secrets.token_hex(8)


class Socket:
    """A websocket that keeps every frame it received, and waits for the one a test wants."""

    ws: ClientConnection

    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def send(self, frame: Frame) -> None:
        self.ws.send(json.dumps(frame))

    def wait_for(self, test: Callable[[Frame], bool], timeout: float = 10.0) -> Frame:
        for seen in self.frames:
            if test(seen):
                return seen
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                raw = self.ws.recv(timeout=max(0.05, deadline - time.monotonic()))
            except TimeoutError:
                break
            frame: Frame = json.loads(raw)
            self.frames.append(frame)
            if test(frame):
                return frame
        raise AssertionError(f"no such frame; got {self.frames!r}")

    def drain(self, seconds: float = 0.3) -> None:
        """Read whatever arrives within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                raw = self.ws.recv(timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                return
            self.frames.append(json.loads(raw))

    def messages(self, conversation: int) -> list[Frame]:
        return [f for f in self.frames if f.get("t") == "msg" and f["c"] == conversation]

    def close(self) -> None:
        self.ws.close()


def ws_url(server_url: str, path: str) -> str:
    return server_url.replace("http://", "ws://") + path


def start_session(server_url: str, site_key: str, body: Frame, origin: str = ORIGIN) -> Frame:
    with httpx.Client(base_url=server_url, trust_env=False) as http:
        answer = http.post(
            f"/chat/{site_key}/session",
            content=json.dumps(body),
            headers={"Origin": origin, "Content-Type": "text/plain"},
        )
    assert answer.status_code == 200, answer.text
    session: Frame = answer.json()
    return session


class ChatVisitor(Socket):
    """A visitor's tab: a session, then ``/ws/visitor``."""

    def __init__(
        self,
        server_url: str,
        site_key: str,
        *,
        token: str | None = None,
        since: dict[str, int] | None = None,
        session: Frame | None = None,
    ) -> None:
        super().__init__()
        self.server_url = server_url
        self.site_key = site_key
        if token is None:
            body = session or {"i": "vis-" + secrets.token_hex(6)}
            token = start_session(server_url, site_key, body)["token"]
        self.token: str = token
        self.conversation: int | None = None
        self.connect(since or {})

    def connect(self, since: dict[str, int]) -> None:
        self.frames = []
        self.ws = connect(
            ws_url(self.server_url, "/ws/visitor"), origin=Origin(ORIGIN), proxy=None, legacy=True
        )
        self.send({"t": "hello", "site": self.site_key, "token": self.token, "since": since})
        self.wait_for(lambda f: f["t"] == "welcome")

    def say(self, text: str, *, cid: str | None = None, **extra: Any) -> Frame:
        """Send a message (opening a conversation the first time); returns the ack or error."""
        cid = cid or new_cid()
        self.send({"t": "send", "c": self.conversation, "cid": cid, "text": text, **extra})
        answer = self.wait_for(lambda f: f.get("t") in ("ack", "error") and f.get("cid") == cid)
        if answer["t"] == "ack":
            self.conversation = answer["c"]
        return answer


class ChatOperator(Socket):
    """A console user: logs in through the form, then opens ``/ws/console``."""

    def __init__(self, server: LiveServer, site_key: str, email: str) -> None:
        super().__init__()
        self.server = server
        self.site_key = site_key
        with httpx.Client(base_url=server.url, trust_env=False) as http:
            token = csrf_from(http.get("/console/login").text)
            answer = http.post(
                "/console/login",
                data={"email": email, "password": PASSWORD, "csrf_token": token},
            )
            assert answer.status_code == 303, answer.text
            self.cookies = dict(http.cookies)
        self.cookie_header = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connect({})
        self.requests = 0

    def connect(self, since: dict[str, int]) -> None:
        self.frames = []
        self.ws = connect(
            ws_url(self.server.url, "/ws/console"),
            origin=Origin(self.server.url),
            additional_headers={"Cookie": self.cookie_header},
            proxy=None,
            legacy=True,
        )
        self.send({"t": "hello", "site": self.site_key, "since": since})
        self.welcome = self.wait_for(lambda f: f["t"] == "welcome")

    def request(self, frame: Frame) -> Frame:
        """Send a frame with a request id; returns the ok, ack or error that answers it."""
        self.requests += 1
        r = f"r{self.requests}"
        self.send({**frame, "r": r})
        return self.wait_for(lambda f: f.get("r") == r and f["t"] in ("ok", "ack", "error"))

    def say(self, conversation: int, text: str, *, note: bool = False) -> Frame:
        return self.request(
            {"t": "send", "c": conversation, "cid": new_cid(), "text": text, "note": note}
        )

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, cookies=self.cookies, trust_env=False)
