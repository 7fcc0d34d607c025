"""The chat panel's harder parts in real Chromium against the real server: a lost connection
(messages resent with their cid, stored once), news while the visitor looks elsewhere (badge,
beep, blinking title), ending a chat (rating, transcript), earlier conversations, and verified
identity."""

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
    launcher,
    open_chat,
    panel,
    wait_until,
    watch,
    write,
)
from tests.js.pages import SitePages
from widget_server.widgets import service as widgets

pytestmark = pytest.mark.browser
__all__ = ["chat_pages", "chat_server", "chat_site"]  # fixtures

NO_PRECHAT = {"name": "off", "email": "off", "phone": "off"}

# Every socket the page opens, every frame it sends, and a switch that drops what it sends (a
# connection that died without the page knowing yet).
SOCKETS = """
window.sockets = []; window.sent = []; window.dropping = false;
const Real = WebSocket;
window.WebSocket = class extends Real {
  constructor(...args) { super(...args); window.sockets.push(this); }
  send(data) { window.sent.push(JSON.parse(data)); if (!window.dropping) super.send(data); }
};
"""

# A tab the visitor left (document.hidden), and a count of the beeps played.
HIDDEN_TAB = """
window.tabHidden = false; window.beeps = 0;
Object.defineProperty(document, 'hidden', {get: () => window.tabHidden});
const RealAudio = window.AudioContext;
window.AudioContext = class extends RealAudio {
  createOscillator() { window.beeps += 1; return super.createOscillator(); }
};
"""


def visitor_texts(detail: dict[str, Any]) -> list[str]:
    return [m["text"] for m in detail["messages"] if m.get("from") == "visitor"]


def test_a_lost_connection_comes_back_and_pending_messages_are_stored_once(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, chromium: Any
) -> None:
    site: ChatSite = chat_site(prechat=NO_PRECHAT)
    context = chromium.new_context()
    try:
        context.add_init_script(SOCKETS)
        page = context.new_page()
        page.goto(chat_pages.url("chat.html"))
        open_chat(page)
        write(page, "First")
        wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓"])

        page.evaluate("window.dropping = true")
        write(page, "Second, lost in transit")
        page.wait_for_timeout(300)
        assert panel(page).locator(".m.v .k").all_text_contents() == ["✓", "…"]
        page.evaluate("window.dropping = false; window.sockets.at(-1).close()")
        # A new socket (after a backoff), a hello with what the page holds, the same cid again.
        wait_until(page, lambda: page.evaluate("window.sockets.length") == 2, what="reconnect")
        wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓", "✓"])
        sent = page.evaluate("window.sent")
        hellos = [f for f in sent if f["t"] == "hello"]
        assert len(hellos) == 2
        second = [f for f in sent if f["t"] == "send" and f["text"] == "Second, lost in transit"]
        assert len(second) == 2 and second[0]["cid"] == second[1]["cid"]
        assert hellos[0]["since"] == {}
        assert hellos[1]["since"] == {str(second[0]["c"]): 1}  # it held "First", seq 1

        # The server stored it once even when the page sends it again (another lost ack).
        page.evaluate(f"window.sockets.at(-1).send({json.dumps(json.dumps(second[0]))})")
        page.wait_for_timeout(300)
        with Operator(chat_server, site) as operator:
            detail = operator.wait_chat(page, lambda d: len(visitor_texts(d)) >= 2)
            assert visitor_texts(detail) == ["First", "Second, lost in transit"]
        assert bubbles(page, "v") == ["First", "Second, lost in transit"]
    finally:
        context.close()


def test_news_while_the_visitor_looks_elsewhere(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, chromium: Any
) -> None:
    site: ChatSite = chat_site(prechat=NO_PRECHAT)
    context = chromium.new_context()
    try:
        context.add_init_script(HIDDEN_TAB)
        page = context.new_page()
        page.goto(chat_pages.url("chat.html"))
        open_chat(page)
        write(page, "Hello")
        wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓"])
        with Operator(chat_server, site) as operator:
            detail = operator.wait_chat(page, lambda d: len(visitor_texts(d)) == 1)
            conversation = detail["conversation"]["id"]

            # The panel is closed: a reply counts on the launcher's badge, with a beep.
            page.locator("div.p .h button", has_text="×").click()
            operator.reply(conversation, "Hi! One moment.")
            badge = launcher(page).locator(".n")
            wait_until(page, lambda: badge.text_content() == "1")
            assert page.evaluate("window.beeps") == 1
            assert page.title() == "A shop page with the chat"  # the tab is visible
            open_chat(page)
            wait_until(page, lambda: badge.text_content() == "")
            assert bubbles(page, "o") == ["Hi! One moment."]

            # The visitor went to another tab: a beep, and the title blinks until they are back.
            page.evaluate("window.tabHidden = true")
            operator.reply(conversation, "Here is the answer.")
            wait_until(page, lambda: page.title().endswith("New message"), what="a blink")
            assert page.evaluate("window.beeps") == 2
            page.evaluate(
                "window.tabHidden = false; document.dispatchEvent(new Event('visibilitychange'))"
            )
            page.wait_for_timeout(1200)
            assert page.title() == "A shop page with the chat"
    finally:
        context.close()


def test_ending_a_chat_rates_it_and_mails_the_transcript_and_it_stays_in_the_list(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, page: Any
) -> None:
    site: ChatSite = chat_site(prechat=NO_PRECHAT)
    seen = watch(page)
    page.goto(chat_pages.url("chat.html"))
    open_chat(page)
    write(page, "Where is my order?")
    wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓"])
    end = page.locator("div.p .h button", has_text="End the chat")
    end.click()
    page.locator("div.p .h button", has_text="End this conversation?").click()
    panel(page).locator("b", has_text="How would you rate").wait_for()
    panel(page).locator(".st button[aria-label='4']").click()
    panel(page).locator(".b textarea").fill("Quick, thanks")
    panel(page).locator(".b button", has_text="Send rating").click()
    panel(page).locator(".b input[type=email]").fill("ann@example.com")
    with page.expect_response(lambda r: "/transcript" in r.url) as mailed:
        panel(page).locator(".b button", has_text="Send transcript").click()
    assert mailed.value.status == 202
    panel(page).get_by_text("The transcript is on its way").wait_for()

    with Operator(chat_server, site) as operator:
        detail = operator.wait_chat(
            page,
            lambda d: d["conversation"]["status"] == "resolved" and d["conversation"]["rating"],
        )
        assert detail["conversation"]["rating"] == 4
        assert detail["conversation"]["rating_comment"] == "Quick, thanks"

    # A new conversation; the ended one is in the list and opens again, read-only.
    panel(page).locator(".b button", has_text="New conversation").click()
    write(page, "Another question")
    wait_until(page, lambda: bubbles(page, "v") == ["Another question"])
    page.locator("div.p .h button", has_text="≡").click()
    items = panel(page).locator(".b button.q")
    wait_until(page, lambda: items.count() == 2)
    items.filter(has_text="Where is my order?").click()
    wait_until(page, lambda: bubbles(page, "v") == ["Where is my order?"])
    assert panel(page).locator(".m.s", has_text="The conversation has ended.").count() == 1
    assert seen == []


def test_identity_required_until_the_page_identifies_the_visitor(
    chat_site: Any, chat_pages: SitePages, page: Any
) -> None:
    secret = "s" * 32
    chat_site(prechat=NO_PRECHAT, identity_required=True, identity_secret=secret)
    page.goto(chat_pages.url("chat.html"))
    open_chat(page)
    note = panel(page).locator(".m.s", has_text="Please log in")
    note.wait_for()
    assert page.locator("div.p > form").is_hidden()

    # A wrong hash is not verified: still no chat.
    with page.expect_response(lambda r: "/session" in r.url):
        page.evaluate("vitrine('identify', {id: '42', name: 'Ann', hash: 'f00'})")
    page.wait_for_timeout(200)
    assert page.locator("div.p > form").is_hidden()

    good = widgets.identity_hash(secret, "42")
    with page.expect_response(lambda r: "/session" in r.url) as answer:
        page.evaluate(f"vitrine('identify', {{id: '42', name: 'Ann', hash: '{good}'}})")
    assert answer.value.json()["can_start"] is True
    page.locator("div.p > form").wait_for(state="visible")
    assert note.count() == 0
    write(page, "I am Ann")
    wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓"])
