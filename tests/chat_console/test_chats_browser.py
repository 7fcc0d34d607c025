"""The Chats page in real Chromium against a real server: a visitor (real visitor endpoints)
writes, the operator sees it live, takes it, replies and adds a note; admins assign; hostile
strings stay text; templates; and the page runs under the console's CSP without a violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.chat_console.conftest import (
    TEMPLATE_TEXT,
    VISIT,
    XSS_IMG,
    XSS_SCRIPT,
    Visitor,
    chat_site,
    open_chats,
    watch,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
SCREENSHOT = Path("/tmp/chats.png")


def count(page: Any, tab: str) -> str:
    text: str = page.locator(f"[data-count={tab}]").text_content()
    return text


def assert_nothing_ran(page: Any, seen: dict[str, list[str]]) -> None:
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert seen["dialogs"] == []
    assert page.evaluate("window.__csp") == []
    assert [line for line in seen["console"] if "Content Security Policy" in line] == []


def test_an_operator_answers_a_new_chat_live(live_server: LiveServer, page: Any) -> None:
    team = chat_site(live_server)
    seen = watch(page)
    open_chats(page, live_server, team, team.operator.email)
    assert count(page, "new") == "0"

    visitor = Visitor(
        live_server,
        team.site.key,
        params={"plan": "pro", XSS_IMG: XSS_SCRIPT, "cart": 3},
        visit=VISIT,
    )
    try:
        visitor.say("Hello, I need help with my order", name="Ann " + XSS_IMG)

        # The chat appears live in "New", with its visitor's name as plain text.
        item = page.locator(".chat-item", has_text="Hello, I need help with my order")
        item.wait_for()
        assert count(page, "new") == "1"
        assert item.locator(".chat-item-name").text_content() == "Ann " + XSS_IMG
        item.click()

        # The side panel: the visitor and the custom params, hostile ones shown as text.
        page.wait_for_selector("#side-params dt >> text=plan")
        params = dict(
            zip(
                page.locator("#side-params dt").all_text_contents(),
                page.locator("#side-params dd").all_text_contents(),
                strict=True,
            )
        )
        assert params == {"plan": "pro", XSS_IMG: XSS_SCRIPT, "cart": "3"}
        assert page.locator("#side-name").text_content() == "Ann " + XSS_IMG
        # …and where the visit came from, with the pages it saw.
        assert page.locator("#side-visit-number").text_content() == str(VISIT)
        assert page.locator("#side-channel").text_content() == "ads"
        assert page.locator("#side-source").text_content() == "google"
        assert page.locator("#side-campaign").text_content() == "spring"
        landing = page.locator("#side-landing a")
        assert landing.get_attribute("href") == "https://shop.example.com/sale"
        assert page.locator("#side-pages li").count() == 2

        # Take it: it becomes mine.
        page.click("#chat-take")
        page.wait_for_selector("#chat-assignee >> text=Oscar Operator")
        page.wait_for_selector(".chat-tab[data-tab=mine][aria-selected=true]")
        assert count(page, "mine") == "1" and count(page, "new") == "0"
        assert page.locator("#chat-take").is_hidden()

        # A reply reaches the visitor; it is shown pending, then acknowledged.
        page.fill("#chat-text", "Sure, let me check.")
        page.press("#chat-text", "Enter")
        reply = page.locator(".chat-msg-out", has_text="Sure, let me check.")
        reply.locator(".chat-msg-state >> text=Sent").wait_for()
        got = visitor.wait_for(lambda f: f["t"] == "msg" and f["text"] == "Sure, let me check.")
        assert got["from"] == "operator"

        # Typing indicators both ways, and the visitor's read mark.
        visitor.send({"t": "typing", "c": visitor.conversation, "on": True})
        page.wait_for_selector("#chat-typing", state="visible")
        page.click("#chat-text")
        page.keyboard.type("Hm")
        visitor.wait_for(lambda f: f["t"] == "typing" and f["on"] is True)
        page.fill("#chat-text", "")
        visitor.send({"t": "read", "c": visitor.conversation, "seq": got["seq"]})
        reply.locator(".chat-msg-state >> text=Read").wait_for()

        # A note is visibly different and never reaches the visitor.
        page.click(".chat-mode >> text=Private note")
        page.fill("#chat-text", "Customer seems upset, be gentle")
        page.press("#chat-text", "Enter")
        note = page.locator(".chat-msg-note[data-seq]", has_text="Customer seems upset")
        note.wait_for()
        assert note.locator(".chat-note-label").text_content() == "Private note"
        page.click(".chat-mode >> text=Reply")
        page.fill("#chat-text", "Anything else?")
        page.press("#chat-text", "Enter")
        visitor.wait_for(lambda f: f["t"] == "msg" and f["text"] == "Anything else?")
        assert not [f for f in visitor.frames if "upset" in str(f)]

        # Hostile strings from the visitor: a message and a file name, shown as text.
        hostile = f"look {XSS_IMG} {XSS_SCRIPT}"
        visitor.say(hostile)
        page.locator(".chat-msg-visitor .chat-msg-text", has_text="look").wait_for()
        assert page.locator(".chat-msg-visitor .chat-msg-text").last.text_content() == hostile
        file_id = visitor.upload(f"{XSS_IMG}.txt", b"plain text notes\n", "text/plain")
        visitor.say("", file=file_id)
        page.locator(".chat-msg-visitor .chat-file a", has_text="onerror").wait_for()
        assert page.locator(".chat-msg-visitor .chat-file a").last.text_content() == (
            f"{XSS_IMG}.txt"
        )
        assert page.locator("#chat-messages img").count() == 0

        # The operator attaches a file too (a "/" would end the name at the server: none here).
        name = f"report {XSS_IMG}.txt"
        page.set_input_files(
            "#chat-file", files=[{"name": name, "mimeType": "text/plain", "buffer": b"hi\n"}]
        )
        page.wait_for_selector("#chat-attachment-name >> text=report")
        assert page.locator("#chat-attachment-name").text_content() == name
        page.press("#chat-text", "Enter")
        sent_file = page.locator(".chat-msg-out .chat-file a", has_text="report")
        sent_file.wait_for()
        assert sent_file.text_content() == name
        got = visitor.wait_for(lambda f: f["t"] == "msg" and f["from"] == "operator" and f["file"])
        assert got["file"]["name"] == name

        # Templates: "/" at the start of the composer opens the picker; Enter inserts.
        page.click("#chat-text")
        page.keyboard.type("/greet")
        page.wait_for_selector(".chat-template >> text=Greeting")
        assert page.locator(".chat-template").count() == 1
        page.keyboard.press("Enter")
        assert page.input_value("#chat-text") == TEMPLATE_TEXT
        assert page.locator("#chat-templates").is_hidden()
        page.fill("#chat-text", "")
        # …and the Templates button opens a search box; a click inserts.
        page.click("#chat-templates-toggle")
        page.fill("#chat-templates-search", "refund")
        page.click(".chat-template >> text=Refund policy")
        assert page.input_value("#chat-text") == "Refunds take 5 days."

        # Make a lead: it shows in the side panel.
        page.click("#chat-lead")
        page.locator(".chat-toast", has_text="Lead created").wait_for()
        page.wait_for_selector("#side-leads >> text=Lead #")
        page.screenshot(path=str(SCREENSHOT))

        # Resolving moves the chat to Closed.
        page.select_option("#chat-status", "resolved")
        page.wait_for_selector("#chat-status-badge >> text=Resolved")
        page.wait_for_function("document.querySelector('[data-count=closed]').textContent === '1'")
        assert count(page, "mine") == "0"
        assert_nothing_ran(page, seen)
    finally:
        visitor.close()


def test_an_admin_assigns_a_chat_and_the_operator_is_told(
    live_server: LiveServer, chromium: Any
) -> None:
    team = chat_site(live_server)
    admin_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    operator_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    visitor = None
    try:
        admin = admin_context.new_page()
        operator = operator_context.new_page()
        seen = watch(operator)
        open_chats(admin, live_server, team, team.admin.email)
        open_chats(operator, live_server, team, team.operator.email)
        visitor = Visitor(live_server, team.site.key, params={})
        visitor.say("Is anyone there?", name="Bob")

        admin.locator(".chat-item", has_text="Is anyone there?").click()
        admin.wait_for_selector("#chat-assign")
        admin.select_option("#chat-assign", label="Oscar Operator")

        toast = operator.locator(".chat-toast", has_text="assigned to you")
        toast.wait_for()
        assert "Bob" in toast.text_content()
        operator.wait_for_function(
            "document.querySelector('[data-count=mine]').textContent === '1'"
        )
        admin.wait_for_selector("#chat-assignee >> text=Oscar Operator")

        # Presence: the operator steps away; the admin's assign menu says so.
        operator.select_option("#chat-presence", "away")
        admin.wait_for_selector(
            "#chat-assign option >> text=Oscar Operator (away)", state="attached"
        )
        assert_nothing_ran(operator, seen)
    finally:
        if visitor is not None:
            visitor.close()
        admin_context.close()
        operator_context.close()


RECONNECTS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__offline = false;
  // While __offline is set, new sockets go to a closed port: the page keeps retrying.
  window.WebSocket = function (url) {
    const socket = new Native(window.__offline ? url.replace(/:\\d+\\//, ":9/") : url);
    window.__sockets.push(socket);
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
})();
"""


def test_a_reply_written_offline_is_sent_once_after_reconnecting(
    live_server: LiveServer, page: Any
) -> None:
    team = chat_site(live_server)
    page.add_init_script(RECONNECTS)
    open_chats(page, live_server, team, team.operator.email)
    visitor = Visitor(live_server, team.site.key, params={})
    try:
        visitor.say("First question", name="Carl")
        page.locator(".chat-item", has_text="First question").click()
        page.locator(".chat-msg-visitor", has_text="First question").wait_for()
        page.click("#chat-take")
        page.wait_for_selector("#chat-assignee >> text=Oscar Operator")

        # The socket drops and cannot come back for a while.
        page.evaluate("window.__offline = true; window.__sockets.at(-1).close()")
        page.wait_for_selector("#chat-connection:not(.chat-connection-ok)")
        visitor.say("Did you get this while you were away?")
        page.fill("#chat-text", "Written while offline")
        page.press("#chat-text", "Enter")
        pending = page.locator(".chat-msg-pending", has_text="Written while offline")
        assert pending.locator(".chat-msg-state").text_content() == "Sending…"

        page.evaluate("window.__offline = false")
        page.wait_for_selector("#chat-connection.chat-connection-ok", timeout=20000)
        # What was missed arrives (hello's "since"); the pending reply goes out once.
        page.locator(".chat-msg-visitor", has_text="while you were away").wait_for()
        page.locator(".chat-msg-out[data-seq]", has_text="Written while offline").wait_for()
        visitor.wait_for(lambda f: f["t"] == "msg" and f["text"] == "Written while offline")
        assert page.locator(".chat-msg", has_text="Written while offline").count() == 1
        assert page.locator(".chat-msg", has_text="while you were away").count() == 1
        seqs = page.eval_on_selector_all(
            "#chat-messages [data-seq]", "nodes => nodes.map(n => Number(n.dataset.seq))"
        )
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
        # The server stored it once, whatever the client resent.
        visitor.send({"t": "ping"})
        visitor.wait_for(lambda f: f["t"] == "pong")
        copies = [f for f in visitor.frames if f.get("text") == "Written while offline"]
        assert len(copies) == 1
    finally:
        visitor.close()


def test_every_console_tab_runs_under_the_policy(live_server: LiveServer, page: Any) -> None:
    team = chat_site(live_server)
    seen = watch(page)
    open_chats(page, live_server, team, team.owner.email)
    links = page.eval_on_selector_all("nav.tabs a", "links => links.map(a => a.href)")
    assert len(links) >= 8
    for url in [*links, f"{live_server.url}/console/sites/new", f"{live_server.url}/nothing"]:
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.evaluate("window.__csp") == [], url
    page.goto(f"{live_server.url}/console/sites/{team.site.key}/no-such-tab")
    page.click("text=Go back")  # the error page's link works without a javascript: URL
    page.wait_for_url(f"{live_server.url}/nothing")
    assert_nothing_ran(page, seen)
