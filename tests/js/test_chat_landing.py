"""Acceptance, end to end in real Chromium against a real server: the demo site (seeded by
``widget_server.demo.seed``) serves the example landing page at ``/``; a visitor there opens the
chat and writes; the demo operator, logged in through the form in a second browser context, sees
it live, takes it, replies and adds a note; the visitor sees the reply and never the note; the
params the page set through ``setRoistatOnlineChatCustomParams`` are shown to the operator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import LiveServer
from tests.js.chat_site import open_chat, panel, write
from tests.js.landing import serve_landing
from widget_server import demo

pytestmark = pytest.mark.browser

OPERATOR = demo.LOGINS[2]
assert OPERATOR.role == "operator"
QUESTION = "Hello from the landing page, is the Tuesday roast still on?"
REPLY = "Yes, it ships every Tuesday morning."
NOTE = "Internal: regular customer, offer the loyalty discount"
TIMEOUT = 15_000  # ms, for every live expectation

# Every text of the page, the chat's shadow roots included (recursively).
PAGE_TEXT = """
() => {
  const texts = [];
  const walk = (root) => {
    for (const node of root.querySelectorAll("*")) {
      if (node.shadowRoot) {
        texts.push(node.shadowRoot.textContent || "");
        walk(node.shadowRoot);
      }
    }
  };
  texts.push(document.documentElement.textContent || "");
  walk(document);
  return texts.join("\\n");
}
"""


# Keeps a copy of what the page hands to setRoistatOnlineChatCustomParams (the function stays the
# chat's own): the page's "returning" depends on whether the counter's cookie was already written
# when the chat called onRoistatAllModulesLoaded, which varies from one load to the next.
RECORD_PARAMS = """
(() => {
  let set;
  window.__params = [];
  Object.defineProperty(window, "setRoistatOnlineChatCustomParams", {
    configurable: true,
    get: () => set && ((params) => {
      window.__params.push(JSON.parse(JSON.stringify(params)));
      return set(params);
    }),
    set: (given) => { set = given; },
  });
})();
"""


@pytest.fixture
def landing_server(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    with serve_landing(tmp_path) as served:
        yield served


def _log_in_and_open_chats(page: Any, server: LiveServer, key: str) -> None:
    page.goto(f"{server.url}/console/login")
    page.fill("#email", OPERATOR.email)
    page.fill("#password", OPERATOR.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/console/sites/**")
    page.goto(f"{server.url}/console/sites/{key}/chats")
    expect(page.locator("#chat-connection.chat-connection-ok")).to_be_attached(timeout=TIMEOUT)


def test_a_landing_page_visitor_chats_with_the_demo_operator_who_sees_the_roistat_params(
    landing_server: tuple[LiveServer, str], chromium: Any
) -> None:
    server, key = landing_server
    visitor_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    operator_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        errors: list[str] = []
        visitor = visitor_context.new_page()
        visitor.add_init_script(RECORD_PARAMS)
        visitor.on("pageerror", lambda error: errors.append(f"visitor: {error}"))
        operator = operator_context.new_page()
        operator.on("pageerror", lambda error: errors.append(f"operator: {error}"))

        # The operator is on the Chats page first: the chat must arrive live, without reload.
        _log_in_and_open_chats(operator, server, key)
        expect(operator.locator("[data-count=new]")).to_have_text("0")
        loads: list[str] = []
        operator.on("load", lambda _: loads.append(operator.url))

        # The visitor: the landing page at /, with the demo site's counter and chat.
        visitor.goto(f"{server.url}/")
        assert visitor.title().startswith("Kettle & Kiln")
        expect(visitor.locator("button.l")).to_be_visible(timeout=TIMEOUT)  # in the shadow root
        open_chat(visitor)
        write(visitor, QUESTION)
        expect(panel(visitor).locator(".m.v p")).to_have_text([QUESTION], timeout=TIMEOUT)
        expect(panel(visitor).locator(".m.v .k")).to_have_text(["✓"], timeout=TIMEOUT)

        # The operator sees it live in "New".
        item = operator.locator(".chat-item", has_text=QUESTION)
        expect(item).to_be_visible(timeout=TIMEOUT)
        expect(operator.locator(".chat-tab[data-tab=new][aria-selected=true]")).to_be_attached()
        expect(operator.locator("[data-count=new]")).to_have_text("1")
        item.click()
        expect(operator.locator(".chat-msg-visitor", has_text=QUESTION)).to_be_visible(
            timeout=TIMEOUT
        )

        # The params the landing page set with setRoistatOnlineChatCustomParams, as it set them.
        given = visitor.evaluate("window.__params")
        assert len(given) == 1 and set(given[0]) == {"page", "roast_day", "returning"}, given
        assert given[0]["page"] == "landing" and given[0]["roast_day"] == "tuesday"
        assert isinstance(given[0]["returning"], bool)
        expect(operator.locator("#side-params dt")).to_have_text(
            ["page", "roast_day", "returning"], timeout=TIMEOUT
        )
        expect(operator.locator("#side-params dd")).to_have_text(
            ["landing", "tuesday", str(given[0]["returning"]).lower()]
        )

        # Take it, reply, then a private note.
        operator.click("#chat-take")
        expect(operator.locator("#chat-assignee")).to_contain_text(OPERATOR.name, timeout=TIMEOUT)
        expect(operator.locator("[data-count=mine]")).to_have_text("1")
        operator.fill("#chat-text", REPLY)
        operator.press("#chat-text", "Enter")
        sent = operator.locator(".chat-msg-out[data-seq]", has_text=REPLY)  # acked
        expect(sent).to_be_visible(timeout=TIMEOUT)

        # The visitor sees the reply in the open panel, which tells the operator it was read.
        expect(panel(visitor).locator(".m.o p")).to_have_text([REPLY], timeout=TIMEOUT)
        expect(sent.locator(".chat-msg-state")).to_have_text("Read", timeout=TIMEOUT)

        operator.click(".chat-mode >> text=Private note")
        operator.fill("#chat-text", NOTE)
        operator.press("#chat-text", "Enter")
        note = operator.locator(".chat-msg-note[data-seq]", has_text=NOTE)  # acked: has a seq
        expect(note).to_be_visible(timeout=TIMEOUT)
        expect(note.locator(".chat-note-label")).to_have_text("Private note")

        # A reply sent after the note reaches the visitor: anything sent before it has arrived.
        operator.click(".chat-mode >> text=Reply")
        operator.fill("#chat-text", "Anything else?")
        operator.press("#chat-text", "Enter")
        expect(panel(visitor).locator(".m.o p")).to_have_text(
            [REPLY, "Anything else?"], timeout=TIMEOUT
        )
        visitor.wait_for_timeout(500)  # and a moment more, for anything late
        text = visitor.evaluate(PAGE_TEXT)
        assert REPLY in text and QUESTION in text  # the walk does see the chat's shadow DOM
        assert NOTE not in text and "loyalty" not in text
        # Besides the widget's greeting (no <p>), exactly the conversation, without the note.
        expect(panel(visitor).locator(".m p")).to_have_text([QUESTION, REPLY, "Anything else?"])

        assert loads == []  # the operator's page was never reloaded
        assert errors == []
    finally:
        visitor_context.close()
        operator_context.close()
