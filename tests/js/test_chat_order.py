"""A reply overtaken on its way: with two server processes on one bus, the widget can get seq 4
before seq 3. It must not take seq 4 as "I hold everything up to 4": on reconnecting it asks from
the end of its unbroken chain (each message names the one before it, ``prev``), while a gap left
by a private note, which the visitor never gets, holds nothing back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.js.chat_site import (
    ChatSite,
    Operator,
    bubbles,
    chat_pages,
    chat_server,
    chat_site,
    open_chat,
    panel,
    wait_until,
    write,
)
from tests.js.pages import SitePages

pytestmark = pytest.mark.browser
__all__ = ["chat_pages", "chat_server", "chat_site"]  # fixtures

NO_PRECHAT = {"name": "off", "email": "off", "phone": "off"}


class Relay:
    """Stands between the page and the server's visitor socket: records the page's hellos, can
    hold back message frames by seq (still on their way), and can drop the connection."""

    def __init__(self) -> None:
        self.hellos: list[dict[str, Any]] = []
        self.sockets: list[Any] = []
        self.held_back: set[int] = set()

    def __call__(self, ws: Any) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("t") == "msg" and frame.get("seq") in self.held_back:
                return
            ws.send(message)

        def to_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("t") == "hello":
                self.hellos.append(frame)
            server.send(message)

        server.on_message(to_page)
        ws.on_message(to_server)
        self.sockets.append(ws)

    def drop(self, page: Any) -> None:
        """Close the page's socket and wait for the widget's next hello."""
        count = len(self.hellos)
        self.sockets[-1].close()
        wait_until(page, lambda: len(self.hellos) > count, what="the widget reconnecting")


def test_a_reply_overtaken_by_a_later_one_is_asked_for_again(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, chromium: Any
) -> None:
    site: ChatSite = chat_site(prechat=NO_PRECHAT)
    relay = Relay()
    context = chromium.new_context()
    try:
        context.route_web_socket("**/ws/visitor**", relay)
        page = context.new_page()
        page.goto(chat_pages.url("chat.html"))
        open_chat(page)
        write(page, "Hello")  # seq 1
        wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓"])
        with Operator(chat_server, site) as operator:
            detail = operator.wait_chat(page, lambda d: d["messages"])
            c = detail["conversation"]["id"]
            operator.connect()
            note = "a private note"
            operator.send({"t": "send", "c": c, "cid": "note-0001", "text": note, "note": True})
            assert operator.receive("ack", cid="note-0001")["seq"] == 2
            relay.held_back.add(3)  # still on its way from the other process
            assert operator.reply(c, "First answer")["seq"] == 3
            assert operator.reply(c, "Second answer")["seq"] == 4
            wait_until(page, lambda: bubbles(page, "o") == ["Second answer"])

            # The connection drops: the widget holds 1 and 4, and 4 says 3 came before it.
            relay.held_back.clear()
            relay.drop(page)
            assert relay.hellos[-1]["since"] == {str(c): 1}
            wait_until(page, lambda: bubbles(page, "o") == ["First answer", "Second answer"])
            assert bubbles(page) == ["Hello", "First answer", "Second answer"]

            # Now it holds every message it can see: the note's gap (seq 2) holds nothing back.
            relay.drop(page)
            assert relay.hellos[-1]["since"] == {str(c): 4}
            page.wait_for_timeout(300)
            assert bubbles(page) == ["Hello", "First answer", "Second answer"]
            assert note not in panel(page).text_content()
    finally:
        context.close()
