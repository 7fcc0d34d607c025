"""Helpers for the chat console's browser tests: a site with the chat on, a visitor that talks
through the real visitor endpoints (POST /chat/KEY/session, /ws/visitor), and a logged-in
console page."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from tests.chat.conftest import Socket
from tests.conftest import PASSWORD, LiveServer, SiteTeam, create_team, seed
from tests.reports.conftest import Seeder
from widget_server.runtime import Runtime
from widget_server.widgets import service as widgets

ORIGIN = "https://shop.example.com"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>window.pwned=1</script>"
VISIT = 4242
TEMPLATE_TEXT = "Hello! Thanks for writing to us, how can I help?"


def chat_site(server: LiveServer) -> SiteTeam:
    """A team whose site has the chat on, two reply templates ("Greeting", "Refund policy") and
    visit number VISIT (from an ads campaign, with two pages seen)."""

    async def make(state: Runtime) -> SiteTeam:
        team = await create_team(state)
        await Seeder(state.engine, team.site.id).visit(
            VISIT,
            "chat",
            datetime.now(UTC) - timedelta(minutes=5),
            channel="ads",
            source="google",
            campaign="spring",
            landing="/sale",
            pages=2,
        )
        await widgets.enable_chat(team.access("owner"), state.engine)
        await widgets.create_template(
            team.access("owner"), state.engine, name="Greeting", text=TEMPLATE_TEXT
        )
        await widgets.create_template(
            team.access("owner"), state.engine, name="Refund policy", text="Refunds take 5 days."
        )
        return team

    return seed(server, make)


class Visitor(Socket):
    """One visitor tab: a session, then the visitor socket; keeps every frame it receives."""

    def __init__(
        self, server: LiveServer, site_key: str, params: dict[str, Any], visit: int | None = None
    ) -> None:
        super().__init__()
        self.server = server
        self.site_key = site_key
        with httpx.Client(base_url=server.url, trust_env=False) as http:
            answer = http.post(
                f"/chat/{site_key}/session",
                content=json.dumps(
                    {"i": "vis-" + secrets.token_hex(6), "v": visit, "params": params}
                ),
                headers={"Origin": ORIGIN, "Content-Type": "text/plain"},
            )
        assert answer.status_code == 200, answer.text
        self.token: str = answer.json()["token"]
        ws_url = server.url.replace("http://", "ws://") + "/ws/visitor"
        self.ws: ClientConnection = connect(ws_url, origin=Origin(ORIGIN), proxy=None, legacy=True)
        self.ws.send(json.dumps({"t": "hello", "site": site_key, "token": self.token, "since": {}}))
        self.wait_for(lambda f: f["t"] == "welcome")
        self.conversation: int | None = None

    def say(self, text: str, *, name: str | None = None, file: str | None = None) -> int:
        """Send a message (starting the conversation the first time); returns its seq."""
        cid = "v" + secrets.token_hex(8)
        frame: dict[str, Any] = {"t": "send", "c": self.conversation, "cid": cid, "text": text}
        if name is not None:
            frame["contact"] = {"name": name, "email": "", "phone": ""}
        if file is not None:
            frame["file"] = file
        self.ws.send(json.dumps(frame))
        ack = self.wait_for(lambda f: f.get("t") in ("ack", "error") and f.get("cid") == cid)
        assert ack["t"] == "ack", ack
        self.conversation = ack["c"]
        seq: int = ack["seq"]
        return seq

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def upload(self, name: str, data: bytes, content_type: str) -> str:
        with httpx.Client(base_url=self.server.url, trust_env=False) as http:
            answer = http.post(
                f"/chat/{self.site_key}/files",
                data={"token": self.token},
                files={"file": (name, data, content_type)},
                headers={"Origin": ORIGIN},
            )
        assert answer.status_code in (200, 201), answer.text
        file_id: str = answer.json()["file"]["id"]
        return file_id

    def close(self) -> None:
        self.ws.close()


def open_chats(page: Any, server: LiveServer, team: SiteTeam, email: str) -> None:
    """Log in through the form and open the Chats page; returns once the socket said welcome."""
    page.goto(f"{server.url}/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/console/sites/{team.site.key}/code")
    page.goto(f"{server.url}/console/sites/{team.site.key}/chats")
    page.wait_for_selector("#chat-connection.chat-connection-ok")


WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def watch(page: Any) -> dict[str, list[str]]:
    """Record CSP violations, console errors and dialogs of a page."""
    seen: dict[str, list[str]] = {"console": [], "dialogs": []}
    page.add_init_script(WATCH_CSP)
    page.on(
        "console",
        lambda message: (
            seen["console"].append(message.text) if message.type in ("error", "warning") else None
        ),
    )

    def on_dialog(dialog: Any) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen
