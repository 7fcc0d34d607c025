"""A conversation through the chat panel (chat-panel.js) in real Chromium against the real server:
the visitor's messages are stored, the operator's replies (sent through the real console socket)
appear, history survives a reload, hostile text stays text, refusals are shown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import LiveServer, seed
from tests.js.chat_site import (
    ChatSite,
    Operator,
    Requests,
    bubbles,
    chat_pages,
    chat_server,
    chat_site,
    open_chat,
    panel,
    wait_until,
    watch,
    write,
)
from tests.js.pages import SitePages
from widget_server.accounts import operators
from widget_server.accounts.models import Access
from widget_server.runtime import Runtime

pytestmark = pytest.mark.browser
__all__ = ["chat_pages", "chat_server", "chat_site"]  # fixtures

IMG = '<img src=x onerror="window.pwned=1;alert(1)">'
SCRIPT = "<script>window.pwned=2;alert(2)</script>"
BARE_IMG = "<img src=x onerror=alert(1)>"


def texts(detail: dict[str, Any], side: str) -> list[str]:
    return [m["text"] for m in detail["messages"] if m.get("from") == side]


def test_a_visitor_writes_an_operator_answers_and_history_survives_reloads(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, page: Any
) -> None:
    site: ChatSite = chat_site(prechat={"name": "optional", "email": "off", "phone": "off"})
    seen = watch(page)
    page.goto(chat_pages.url("chat.html"))
    open_chat(page)
    panel(page).locator("input[name=name]").fill("Ann")
    write(page, "Hello, do you ship to Lyon?")
    # Shown at once as pending, then ✓ once the server stored it.
    wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓"])
    write(page, "And to Nantes?")
    wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓", "✓"])

    with Operator(chat_server, site) as operator:
        detail = operator.wait_chat(page, lambda d: len(texts(d, "visitor")) == 2)
        assert texts(detail, "visitor") == ["Hello, do you ship to Lyon?", "And to Nantes?"]
        assert detail["visitor"]["name"] == "Ann"  # from the pre-chat form
        conversation = detail["conversation"]["id"]

        reply = operator.reply(conversation, "Yes, to both, in two days.")
        wait_until(page, lambda: bubbles(page, "o") == ["Yes, to both, in two days."])
        # The open panel tells the operator it was read.
        read = operator.receive("read")
        assert (read["c"], read["seq"]) == (conversation, reply["seq"])
        assert page.evaluate("heard.filter(h => h[0] == 'chat:message').map(h => h[1])") == [
            "Hello, do you ship to Lyon?",
            "And to Nantes?",
            "Yes, to both, in two days.",
        ]
        # The operator reads: the visitor's messages get ✓✓.
        last = detail["conversation"]["last_seq"]
        operator.send({"t": "read", "c": conversation, "seq": last})
        wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓✓", "✓✓"])

        # A reload: the panel comes back by itself (an open conversation) with the history.
        requests = Requests(page)
        page.reload()
        wait_until(page, lambda: requests.to("chat-panel.js"), what="the panel loaded")
        open_chat(page)
        expected = ["Hello, do you ship to Lyon?", "And to Nantes?", "Yes, to both, in two days."]
        wait_until(page, lambda: bubbles(page) == expected)

        # A reply while the visitor is on another page load, and a tab that holds nothing: the
        # server is the source of truth, the panel asks for what it misses.
        operator.reply(conversation, "Anything else?")
        page.evaluate("sessionStorage.clear()")
        page.reload()
        open_chat(page)
        wait_until(page, lambda: bubbles(page) == [*expected, "Anything else?"])
        assert bubbles(page, "o") == ["Yes, to both, in two days.", "Anything else?"]
    assert seen == []


def test_hostile_text_is_shown_as_text_and_never_runs(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, page: Any
) -> None:
    site: ChatSite = chat_site(prechat={"name": "off", "email": "off", "phone": "off"})

    async def hostile_name(state: Runtime) -> None:  # the operator's name reaches the widget
        access = Access(user=site.owner, site=site.site, role="owner")
        await operators.edit_operator(
            access, state.engine, site.owner.id, name=f"Olivia {IMG}", role="owner",
            avatar=None, password=None,
        )  # fmt: skip

    seed(chat_server, hostile_name)
    seen = watch(page)
    page.goto(chat_pages.url("chat-hostile.html"))
    page.locator("button.l").wait_for(state="visible")
    open_chat(page)
    write(page, IMG)
    write(page, SCRIPT)
    wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓", "✓"])
    attach = panel(page).locator("input[type=file]")
    # (Chromium sends '"' in a file name as %22, so this name has none.)
    with page.expect_response(lambda r: "/files" in r.url) as uploaded:
        attach.set_input_files(
            {"name": f"{BARE_IMG}.txt", "mimeType": "text/plain", "buffer": b"hi"}
        )
    assert uploaded.value.status == 200
    panel(page).locator(".m.v a", has_text=f"{BARE_IMG}.txt").wait_for()  # the name, as text
    with Operator(chat_server, site) as operator:
        detail = operator.wait_chat(page, lambda d: len(texts(d, "visitor")) == 3)
        assert texts(detail, "visitor") == [IMG, SCRIPT, ""]
        assert detail["messages"][2]["file"]["name"] == f"{BARE_IMG}.txt"
        # The page's params are stored as they were given.
        assert detail["params"]["note"] == IMG
        assert detail["params"]["code"] == SCRIPT
        operator.reply(detail["conversation"]["id"], f"{IMG} and {SCRIPT}")
        wait_until(page, lambda: bubbles(page, "o") == [f"{IMG} and {SCRIPT}"])
    assert f"Olivia {IMG}" in (panel(page).locator(".m.o").last.text_content() or "")
    assert bubbles(page, "v") == [IMG, SCRIPT]
    assert panel(page).locator(".m img, .m script").count() == 0
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned") == 0
    assert seen == []


def test_too_many_messages_show_the_rate_limit_with_its_retry_time(
    chat_site: Any, chat_pages: SitePages, page: Any
) -> None:
    chat_site(prechat={"name": "off", "email": "off", "phone": "off"})
    page.goto(chat_pages.url("chat.html"))
    open_chat(page)
    write(page, "message 1")
    wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓"])
    for n in range(2, 23):
        write(page, f"message {n}")
    error = panel(page).locator(".e")
    error.wait_for(state="visible")
    text = error.text_content()
    assert text and "s)" in text  # "(NN s)": the retry time
    # The refused message is not shown as sent; its text is back in the box to send later.
    wait_until(page, lambda: "…" not in panel(page).locator(".m.v .k").all_text_contents())
    assert len(bubbles(page, "v")) == 20
    assert page.locator("div.p > form textarea").input_value().startswith("message")


PNG = bytes.fromhex(  # 2 × 2 pixels, made by Pillow
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73000000164944415478"
    "9c633c61c4c0c0c0c0c4c0c0c0c0c000000caa00fe8669f4760000000049454e44ae426082"
)


def test_files_go_as_thumbnails_or_links_and_refusals_are_shown(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, page: Any
) -> None:
    site: ChatSite = chat_site(prechat={"name": "off", "email": "off", "phone": "off"})
    seen = watch(page)
    page.goto(chat_pages.url("chat.html"))
    open_chat(page)
    attach = panel(page).locator("input[type=file]")
    box = page.locator("div.p > form textarea")

    box.fill("Here is the photo")
    with page.expect_response(lambda r: "/files" in r.url) as uploaded:
        attach.set_input_files({"name": "cup.png", "mimeType": "image/png", "buffer": PNG})
    assert uploaded.value.status == 200
    wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓"])
    image = panel(page).locator(".m.v img")
    assert image.get_attribute("alt") == "cup.png"
    assert image.get_attribute("src").startswith(f"{chat_server.url}/chat/files/")
    wait_until(page, lambda: image.evaluate("i => i.complete && i.naturalWidth") == 2)
    assert bubbles(page, "v") == ["Here is the photo"]

    with page.expect_response(lambda r: "/files" in r.url):
        attach.set_input_files({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"})
    link = panel(page).locator(".m.v a", has_text="notes.txt")
    link.wait_for()
    assert link.get_attribute("href").startswith(f"{chat_server.url}/chat/files/")

    # Text that claims to be a PNG: the server refuses it, saying why; nothing is sent.
    with page.expect_response(lambda r: "/files" in r.url) as refused:
        attach.set_input_files(
            {"name": "fake.png", "mimeType": "image/png", "buffer": b"not a png"}
        )
    assert refused.value.status == 422
    error = panel(page).locator(".e")
    error.wait_for(state="visible")
    assert error.text_content() == refused.value.json()["error"]["message"]
    assert panel(page).locator(".m.v").count() == 2

    with Operator(chat_server, site) as operator:
        detail = operator.wait_chat(page, lambda d: len(texts(d, "visitor")) == 2)
        assert [m["file"]["name"] for m in detail["messages"]] == ["cup.png", "notes.txt"]
    assert seen == []


def test_typing_goes_both_ways(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, page: Any
) -> None:
    site: ChatSite = chat_site(prechat={"name": "off", "email": "off", "phone": "off"})
    page.goto(chat_pages.url("chat.html"))
    open_chat(page)
    write(page, "Hello")
    wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓"])
    with Operator(chat_server, site) as operator:
        detail = operator.wait_chat(page, lambda d: len(texts(d, "visitor")) == 1)
        conversation = detail["conversation"]["id"]
        socket = operator.connect()
        page.locator("div.p > form textarea").press_sequentially("Are you th")
        frame = operator.receive("typing", on=True)
        assert (frame["c"], frame["on"]) == (conversation, True)

        socket.send(json.dumps({"t": "typing", "c": conversation, "on": True}))
        typing = panel(page).locator(".y")
        wait_until(page, lambda: typing.text_content() == "typing…")
        socket.send(json.dumps({"t": "typing", "c": conversation, "on": False}))
        wait_until(page, lambda: typing.text_content() == "")
