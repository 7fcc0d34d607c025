"""The chat launcher (chat.js) in real Chromium against the real server: it loads only when the
site's chat is on, loads the panel only when opened, takes the calls a page made before anything
loaded, hides outside working hours or offers the leave-a-message form (saying when to try again
once its rate limit refuses), and fills a narrow screen.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer, seed
from tests.js.chat_site import (
    CLOSED_ALL_WEEK,
    ChatSite,
    Operator,
    Requests,
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
from widget_server.accounts.models import Access
from widget_server.runtime import Runtime
from widget_server.widgets import offline
from widget_server.widgets import service as widgets

pytestmark = pytest.mark.browser
__all__ = ["chat_pages", "chat_server", "chat_site"]  # fixtures


def counter_loaded(page: Any) -> None:
    page.wait_for_function("window.vitrine && window.vitrine.l === true")


def session_answer(page: Any, go: Any) -> Any:
    """Run ``go`` and return the answer of the session request it leads to."""
    with page.expect_response(lambda r: "/session" in r.url, timeout=10_000) as answer:
        go()
    return answer.value


def test_no_chat_module_loads_while_the_chat_is_off(
    chat_site: Any, chat_pages: SitePages, page: Any
) -> None:
    chat_site(chat=False)
    requests = Requests(page)
    page.goto(chat_pages.url("chat.html"))
    counter_loaded(page)
    page.wait_for_timeout(500)
    assert requests.to("/static/dist/chat") == []
    assert requests.to("/chat/") == []
    assert launcher(page).count() == 0
    assert page.evaluate("typeof window.setRoistatOnlineChatCustomParams") == "undefined"


def test_the_launcher_shows_and_loads_the_panel_only_when_opened(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, page: Any
) -> None:
    site: ChatSite = chat_site(color="#ff5500", position="left")
    requests = Requests(page)
    seen = watch(page)
    answer = session_answer(page, lambda: page.goto(chat_pages.url("chat.html")))
    assert answer.status == 200
    assert answer.headers["access-control-allow-origin"] == chat_pages.origin
    [module] = requests.to("/static/dist/chat.js")
    assert module.url.startswith(f"{chat_server.url}/static/dist/chat.js?v=")
    # The session asked for the counter's visitor and visit, as text/plain (no preflight).
    [body] = requests.bodies(f"/chat/{site.key}/session")
    assert body["i"] == page.evaluate("vitrine.i") and len(body["i"]) >= 8
    assert body["v"] == page.evaluate("vitrine.visit") and isinstance(body["v"], int)
    assert body["u"] == chat_pages.url("chat.html")
    assert "params" not in body  # none set: the stored ones are left alone
    session = requests.to("/session")[0]
    assert session.headers["content-type"].startswith("text/plain")
    assert [r for r in requests.all if r.method == "OPTIONS"] == []

    button = launcher(page)
    button.wait_for(state="visible")
    assert button.get_attribute("aria-label") == "Open the chat"
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(255, 85, 0)"
    box = button.bounding_box()
    assert box["x"] < 100  # on the left
    page.wait_for_timeout(500)
    assert requests.to("chat-panel.js") == []  # not before the visitor opens the chat
    assert panel(page).count() == 0

    open_chat(page)
    [loaded] = requests.to("chat-panel.js")
    assert loaded.url == answer.json()["panel"]
    assert panel(page).locator(".h b").text_content() == "Chat with us"
    assert panel(page).locator(".m.o p, .m.o").first.text_content() == "Hello! How can we help you?"
    panel(page).locator(".h button", has_text="×").click()
    assert panel(page).is_hidden()
    launcher(page).click()
    assert panel(page).is_visible()
    assert page.evaluate("heard") == [
        ["chat:open", None],
        ["chat:close", None],
        ["chat:open", None],
    ]
    assert len(requests.to("chat-panel.js")) == 1
    assert seen == []


def test_calls_queued_before_load_take_effect(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, page: Any
) -> None:
    site: ChatSite = chat_site(prechat={"name": "off", "email": "off", "phone": "off"})
    requests = Requests(page)
    seen = watch(page)
    session_answer(page, lambda: page.goto(chat_pages.url("chat-queued.html")))
    # vitrine('chat', 'open') made before the counter loaded: the panel opens by itself.
    panel(page).wait_for(state="visible")
    assert len(requests.to("chat-panel.js")) == 1
    assert page.evaluate("heard") == ["chat:open"]
    assert page.evaluate("roistatCalls") == 1
    # vitrine('params') from the queue and the Roistat call both went with the first session.
    [body] = requests.bodies(f"/chat/{site.key}/session")
    assert body["params"] == {"plan": "pro", "seats": 3, "roistat_visit": "R-42", "trial": True}
    # The conversation the visitor starts carries them.
    write(page, "Hello")
    first = {"plan": "pro", "seats": 3, "roistat_visit": "R-42", "trial": True}
    with Operator(chat_server, site) as operator:
        operator.wait_chat(page, lambda detail: detail["conversation"]["params"] == first)
        # Later calls go over the socket to the open conversation; the hook is not called again.
        page.evaluate("setOnlineChatCustomParams({plan: 'max'})")
        operator.wait_chat(
            page, lambda detail: detail["conversation"]["params"] == {**first, "plan": "max"}
        )
    assert len(requests.bodies(f"/chat/{site.key}/session")) == 1
    page.evaluate("vitrine('chat', 'close')")
    assert panel(page).is_hidden()
    assert page.evaluate("roistatCalls") == 1
    assert page.evaluate("heard") == ["chat:open"]
    assert seen == []


def test_outside_working_hours_with_hide_there_is_no_launcher(
    chat_site: Any, chat_pages: SitePages, page: Any
) -> None:
    chat_site(always_open=False, hours=CLOSED_ALL_WEEK, offline_mode="hide")
    requests = Requests(page)
    answer = session_answer(page, lambda: page.goto(chat_pages.url("chat.html")))
    assert answer.json()["widget"]["state"] == "hidden"
    page.wait_for_timeout(300)
    assert launcher(page).count() == 1 and launcher(page).is_hidden()
    page.evaluate("vitrine('chat', 'open')")
    page.wait_for_timeout(300)
    assert requests.to("chat-panel.js") == []
    assert page.evaluate("heard") == []


def test_outside_working_hours_with_form_the_visitor_leaves_a_message(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, page: Any
) -> None:
    site: ChatSite = chat_site(always_open=False, hours=CLOSED_ALL_WEEK, offline_mode="form")
    seen = watch(page)
    answer = session_answer(page, lambda: page.goto(chat_pages.url("chat.html")))
    assert answer.json()["widget"]["state"] == "form"
    open_chat(page)
    form = panel(page).locator(".b form")
    form.wait_for(state="visible")
    assert page.locator("div.p > form").is_hidden()  # no chat composer
    # The server names each bad field (an e-mail or a phone is needed); the widget shows them.
    form.locator("textarea").fill("Do you ship to Lyon?")
    with page.expect_response(lambda r: "/offline" in r.url) as refused:
        form.locator("button").click()
    assert refused.value.status == 422
    wait_until(page, lambda: "e-mail" in panel(page).locator(".e").text_content())

    form.locator("input[name=name]").fill("Ann")
    form.locator("input[name=email]").fill("ann@example.com")
    with page.expect_response(lambda r: "/offline" in r.url) as received:
        form.locator("button").click()
    assert received.value.status == 201
    panel(page).locator(".m.s", has_text="Thank you").wait_for()
    assert panel(page).locator(".e").text_content() == ""

    async def read(state: Runtime) -> list[Any]:
        access = Access(user=site.owner, site=site.site, role="owner")
        return list(await offline.offline_messages(access, state.engine))

    [message] = seed(chat_server, read)
    assert (message.name, message.email, message.text) == (
        "Ann",
        "ann@example.com",
        "Do you ship to Lyon?",
    )
    assert message.visitor_key == page.evaluate("vitrine.i")
    assert message.page_url == chat_pages.url("chat.html")
    assert seen == []


def test_the_offline_form_refused_by_its_rate_limit_shows_when_to_try_again(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, page: Any
) -> None:
    site: ChatSite = chat_site(always_open=False, hours=CLOSED_ALL_WEEK, offline_mode="form")
    seen = watch(page)
    page.goto(chat_pages.url("chat.html"))
    open_chat(page)
    form = panel(page).locator(".b form")
    form.wait_for(state="visible")
    visitor = page.evaluate("vitrine.i")

    async def use_up_the_hour(state: Runtime) -> None:
        for n in range(offline.PER_VISITOR):
            body = {"i": visitor, "email": "ann@example.com", "text": f"Message {n}"}
            await offline.leave_offline_message(
                state.engine, site.site, body, ip="203.0.113.9", console_url="-"
            )

    seed(chat_server, use_up_the_hour)
    form.locator("input[name=email]").fill("ann@example.com")
    form.locator("textarea").fill("One more?")
    with page.expect_response(lambda r: "/offline" in r.url) as refused:
        form.locator("button").click()
    assert refused.value.status == 429
    retry = int(refused.value.headers["retry-after"])
    assert 0 < retry <= 3601
    message = refused.value.json()["error"]["message"]
    assert message == "Too many messages. Try again later."
    # The same line as a socket's rate limit: the server's message and the seconds to wait.
    error = panel(page).locator(".e")
    wait_until(page, lambda: error.text_content() == f"{message} ({retry} s)")
    assert form.is_visible() and form.locator("textarea").input_value() == "One more?"
    assert seen == []


def test_a_narrow_screen_gets_the_panel_full_screen(
    chat_site: Any, chat_pages: SitePages, chromium: Any
) -> None:
    chat_site()
    context = chromium.new_context(viewport={"width": 600, "height": 800})
    try:
        page = context.new_page()
        page.goto(chat_pages.url("chat.html"))
        launcher(page).wait_for(state="visible")
        open_chat(page)
        box = wait_until(page, lambda: panel(page).bounding_box(), what="the panel's box")
        assert box == {"x": 0, "y": 0, "width": 600, "height": 800}
        page.set_viewport_size({"width": 1000, "height": 800})
        box = panel(page).bounding_box()
        assert box["width"] < 400 and box["height"] < 800
    finally:
        context.close()


def test_outside_working_hours_an_open_conversation_stays_reachable(
    chat_site: Any, chat_server: LiveServer, chat_pages: SitePages, page: Any, chromium: Any
) -> None:
    site: ChatSite = chat_site(prechat={"name": "off", "email": "off", "phone": "off"})
    page.goto(chat_pages.url("chat.html"))
    open_chat(page)
    write(page, "Still there?")
    wait_until(page, lambda: panel(page).locator(".m.v .k").all_text_contents() == ["✓"])

    async def close_shop(state: Runtime) -> None:
        access = Access(user=site.owner, site=site.site, role="owner")
        await widgets.update_widget(
            access, state.engine, always_open=False, hours=CLOSED_ALL_WEEK, offline_mode="hide"
        )

    seed(chat_server, close_shop)
    # A new visitor sees nothing now...
    context = chromium.new_context()
    try:
        stranger = context.new_page()
        answer = session_answer(stranger, lambda: stranger.goto(chat_pages.url("chat.html")))
        assert answer.json()["widget"]["state"] == "hidden"
        stranger.wait_for_timeout(300)
        assert launcher(stranger).is_hidden()
    finally:
        context.close()
    # ... while the visitor with an open conversation keeps the launcher and the panel.
    requests = Requests(page)
    page.reload()
    launcher(page).wait_for(state="visible")
    wait_until(page, lambda: requests.to("chat-panel.js"), what="the panel, for the open chat")
    open_chat(page)
    wait_until(page, lambda: panel(page).locator(".m.v p").all_text_contents() == ["Still there?"])
