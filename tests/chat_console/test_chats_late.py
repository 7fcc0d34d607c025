"""Frames that come late, in real Chromium. A snapshot of a conversation taken before a change
can reach the console after it (a list fetched before a take, a frame delayed on the bus): the
console keeps the newer state. A message overtaken by a later one (two server processes on one
bus) is asked for again when the socket reconnects: the console asks from the end of the
unbroken run of seqs it holds, not from the highest."""

from __future__ import annotations

import json
import time
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


def test_a_message_overtaken_by_a_later_one_is_asked_for_again(
    live_server: LiveServer, page: Any
) -> None:
    team = chat_site(live_server)
    hellos: list[dict[str, Any]] = []
    sockets: list[Any] = []
    held_back: set[int] = set()

    def relay(ws: Any) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if not (frame.get("t") == "msg" and frame.get("seq") in held_back):
                ws.send(message)

        def to_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("t") == "hello":
                hellos.append(frame)
            server.send(message)

        server.on_message(to_page)
        ws.on_message(to_server)
        sockets.append(ws)

    def drop() -> None:
        count = len(hellos)
        sockets[-1].close()
        deadline = time.monotonic() + 10
        while len(hellos) == count:
            assert time.monotonic() < deadline, "the console did not reconnect"
            page.wait_for_timeout(50)

    def texts() -> list[str]:
        found: list[str] = page.locator(".chat-msg .chat-msg-text").all_text_contents()
        return found

    page.route_web_socket("**/ws/console**", relay)
    open_chats(page, live_server, team, team.operator.email)
    visitor = Visitor(live_server, team.site.key, params={})
    try:
        visitor.say("one")
        page.locator(".chat-item", has_text="one").click()
        page.wait_for_selector(".chat-msg-text >> text=one")
        assert visitor.say("two") == 2
        page.wait_for_selector(".chat-msg-text >> text=two")
        held_back.add(3)  # still on its way from the other process
        assert visitor.say("three") == 3
        assert visitor.say("four") == 4
        page.wait_for_selector(".chat-msg-text >> text=four")
        assert texts() == ["one", "two", "four"]

        held_back.clear()
        drop()
        c = str(visitor.conversation)
        assert hellos[-1]["since"] == {c: 2}
        page.wait_for_selector(".chat-msg-text >> text=three")
        assert texts() == ["one", "two", "three", "four"]

        drop()
        assert hellos[-1]["since"] == {c: 4}
        page.wait_for_timeout(300)
        assert texts() == ["one", "two", "three", "four"]
    finally:
        visitor.close()
