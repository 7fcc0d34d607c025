"""A snapshot of a conversation that was taken before a change can reach the console after it
(a list fetched before a take, a frame delayed on the bus). The console keeps the newer state:
after "take", a late snapshot of the unassigned chat must not move it back to "New"."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.chat_console.conftest import Visitor, chat_site, open_chats
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def count(page: Any, tab: str) -> str:
    text: str = page.locator(f"[data-count={tab}]").text_content()
    return text


def test_a_late_snapshot_does_not_undo_a_take(live_server: LiveServer, page: Any) -> None:
    team = chat_site(live_server)
    received: list[dict[str, Any]] = []
    sockets: list[Any] = []

    def relay(ws: Any) -> None:
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            received.append(json.loads(message))
            ws.send(message)

        server.on_message(from_server)
        ws.on_message(server.send)
        sockets.append(ws)

    page.route_web_socket("**/ws/console**", relay)
    open_chats(page, live_server, team, team.operator.email)

    visitor = Visitor(live_server, team.site.key, params={"plan": "pro"})
    try:
        visitor.say("Hello, is anyone there?")
        item = page.locator(".chat-item", has_text="Hello, is anyone there?")
        item.wait_for()
        # The snapshot the console was told of while the chat was new and unassigned.
        stale = next(
            frame
            for frame in received
            if frame.get("t") == "conv" and not frame["conversation"].get("assignee")
        )

        item.click()
        page.click("#chat-take")
        page.wait_for_selector("#chat-assignee >> text=Oscar Operator")
        page.wait_for_selector(".chat-tab[data-tab=mine][aria-selected=true]")
        assert (count(page, "mine"), count(page, "new")) == ("1", "0")

        # The old snapshot arrives late; a typing frame behind it tells us it was handled.
        conversation = stale["conversation"]["id"]
        sockets[0].send(json.dumps(stale))
        sockets[0].send(json.dumps({"t": "typing", "c": conversation, "on": True}))
        page.wait_for_selector("#chat-typing", state="visible")

        assert (count(page, "mine"), count(page, "new")) == ("1", "0")
        assert page.locator("#chat-assignee").text_content() == "Oscar Operator"
        assert page.locator("#chat-take").is_hidden()
    finally:
        visitor.close()
