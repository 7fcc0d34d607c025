"""The counter in real Chromium against the real server: fixture pages on their own origin paste
the counter code, and the tests check both what the page sends and what the server stored."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.js.conftest import (
    Hits,
    Stored,
    create_site,
    loaded,
    page_errors,
    pageview_urls,
    send_end,
    stored,
    wait_stored,
)
from tests.js.pages import SitePages
from widget_server.accounts.models import Site

pytestmark = pytest.mark.browser

DAY_MS = 86_400_000
SOURCE = "utm_source=news&utm_medium=email&utm_campaign=spring&utm_term=shoes&utm_content=hero"
OpenSite = Callable[..., Site]


def ready_visit(page: Any) -> int:
    visit: int = page.evaluate("new Promise(done => vitrine('ready', info => done(info.visit)))")
    return visit


def nothing_sent(page: Any, hits: Hits) -> None:
    """The counter ran, and a while later still no hit has left the page."""
    loaded(page)
    page.evaluate("vitrine('event', 'Anything', {a: 1})")
    page.wait_for_timeout(400)
    assert len(hits) == 0, hits.all()


def test_calls_queued_before_the_script_loads_arrive_in_order(
    counting_server: LiveServer, open_site: OpenSite, pages: SitePages, page: Any
) -> None:
    site = open_site()
    hits = Hits(page)
    errors = page_errors(page)
    page.goto(pages.url("queued.html"))
    sent = hits.wait(4)
    assert [(hit["t"], hit.get("n"), hit.get("p")) for hit in sent] == [
        ("p", None, None),
        ("e", "First", {"step": 1}),
        ("e", "Second", {"step": 2, "ok": True}),
        ("e", "Third", None),
    ]
    assert "v" not in sent[0]  # a new visitor: the server starts the visit
    page.wait_for_function("window.seen.length === 2")
    visit = page.evaluate("vitrine.visit")
    assert isinstance(visit, int)
    assert [hit.get("v") for hit in sent[1:]] == [visit] * 3
    # The listener registered in the queue heard the emit; 'ready' came once the number was known.
    assert page.evaluate("window.seen") == [["hello", "world"], ["ready", visit, True]]
    assert ready_visit(page) == visit  # after load: called at once
    # A CORS-safelisted body: no preflight, by fetch or by beacon.
    assert all(kind.startswith("text/plain") for kind in hits.content_types())
    assert hits.preflights == 0
    # The first hit starts the visit (200 {"v"}); the others carry its number (204, no body).
    assert hits.wait_answered() == [200, 204, 204, 204]
    assert errors == []

    found = wait_stored(counting_server, site, lambda s: len(s.events) == 3)
    assert [visit_row["number"] for visit_row in found.visits] == [visit]
    assert [row["url"] for row in found.pageviews] == [pages.url("queued.html")]
    assert sorted((row["name"], row["props"], row["visit_number"]) for row in found.events) == [
        ("First", {"step": 1}, visit),
        ("Second", {"step": 2, "ok": True}, visit),
        ("Third", {}, visit),
    ]


def test_a_page_whose_counter_never_loads_throws_nothing(
    counting_server: LiveServer, open_site: OpenSite, pages: SitePages, page: Any
) -> None:
    open_site()
    hits = Hits(page)
    errors = page_errors(page)
    with page.expect_response(lambda r: "/s/no-such-site.js" in r.url) as answer:
        page.goto(pages.url("stub-only.html"))
    assert answer.value.status == 404  # the real server's answer for an unknown site key
    page.wait_for_load_state("load")  # both async scripts have failed or run by now
    page.wait_for_timeout(200)
    assert page.evaluate("window.bodyRan") is True
    assert page.evaluate("vitrine.q.length") == 3  # still queued, nothing lost, nothing thrown
    assert page.evaluate("vitrine.l") is None
    assert errors == []
    assert len(hits) == 0


def test_spa_navigation_counts_one_pageview_per_navigation(
    counting_server: LiveServer, open_site: OpenSite, pages: SitePages, page: Any
) -> None:
    site = open_site()
    hits = Hits(page)
    page.goto(pages.url("spa.html"))
    loaded(page)
    page.evaluate(
        """() => {
        history.pushState({}, '', '/app/a');
        history.replaceState({}, '', '/app/a');        // the same URL: not a pageview
        history.replaceState({x: 1}, '', location.href);
        history.replaceState({}, '', '/app/b');        // a new URL: a pageview
        history.pushState({}, '', '/app/c');
        history.pushState({}, '', '/app/c');           // the same URL again: not a pageview
    }"""
    )
    for move in ("back", "back", "forward"):
        page.evaluate(
            """move => new Promise(done => {
                addEventListener('popstate', () => done(), {once: true});
                history[move]();
            })""",
            move,
        )
    # Without hash routing a change of the fragment alone is not a pageview.
    page.evaluate(
        """() => new Promise(done => {
            addEventListener('hashchange', () => done(), {once: true});
            location.hash = 'reviews';
        })"""
    )
    send_end(page)
    sent = hits.until_event("end")
    # The first "back" leaves the duplicate /app/c entry for /app/c: the same URL, no pageview.
    expected = [pages.url(p) for p in ("spa.html", "app/a", "app/b", "app/c", "app/b", "app/c")]
    assert pageview_urls(sent) == expected
    assert all(hit["t"] == "p" for hit in sent)

    found = wait_stored(counting_server, site, lambda s: len(s.events) == 1)
    assert Counter(row["path"] for row in found.pageviews) == Counter(
        ["/spa.html", "/app/a", "/app/b", "/app/c", "/app/b", "/app/c"]
    )
    assert len(found.visits) == 1


def test_hash_routing_counts_each_hash_once(
    counting_server: LiveServer, open_site: OpenSite, pages: SitePages, page: Any
) -> None:
    site = open_site(hash_routing=True)
    hits = Hits(page)
    page.goto(pages.url("spa.html"))
    loaded(page)

    def until_hashchange(change: str) -> None:
        page.evaluate(
            f"""() => new Promise(done => {{
                addEventListener('hashchange', () => done(), {{once: true}});
                {change};
            }})"""
        )

    until_hashchange("location.hash = '#/a'")  # popstate and hashchange: one pageview
    page.evaluate("history.pushState({}, '', '#/b')")  # no hashchange event: the wrapper counts
    until_hashchange("history.back()")
    page.evaluate("location.hash = '#/a'")  # already there: no event at all
    until_hashchange("history.forward()")
    send_end(page)
    sent = hits.until_event("end")
    base = pages.url("spa.html")
    assert pageview_urls(sent) == [base, base + "#/a", base + "#/b", base + "#/a", base + "#/b"]

    found = wait_stored(counting_server, site, lambda s: len(s.events) == 1)
    assert Counter(row["path"] for row in found.pageviews) == Counter(
        ["/spa.html", "/spa.html#/a", "/spa.html#/b", "/spa.html#/a", "/spa.html#/b"]
    )


def test_the_visit_number_follows_sources_and_fourteen_days(
    counting_server: LiveServer, open_site: OpenSite, pages: SitePages, page: Any
) -> None:
    site = open_site()
    hits = Hits(page)
    landing = pages.url(f"page.html?{SOURCE}&gclid=G-123")

    page.goto(landing)
    first = ready_visit(page)
    assert "v" not in hits.all()[0]
    cookie = next(c for c in page.context.cookies() if c["name"] == "_vt")
    assert cookie["path"] == "/" and cookie["sameSite"] == "Lax"
    assert cookie["domain"] == "localhost"
    number, start, source = cookie["value"].split(".", 2)
    assert int(number) == first
    assert abs(int(start) - time.time() * 1000) < 60_000
    assert 13.9 * 86400 < cookie["expires"] - time.time() <= 14 * 86400 + 60
    assert "utm_source%3Dnews" in source and source.endswith("gclid%3DG-123")

    # Other pages, a reload, the same source again: one visit.
    for url in (pages.url("other.html"), None, landing):
        before = len(hits)
        page.reload() if url is None else page.goto(url)
        assert ready_visit(page) == first
        assert hits.wait(before + 1)[before]["v"] == first
        assert hits.wait_answered()[before] == 204  # the visit goes on: no body to read
        assert page.evaluate("vitrine.visit") == first

    # Another source: a new visit.
    before = len(hits)
    page.goto(pages.url("page.html?utm_source=ads&yclid=Y-9"))
    second = ready_visit(page)
    assert second != first
    assert "v" not in hits.wait(before + 1)[before]
    page.goto(pages.url("other.html"))
    assert ready_visit(page) == second

    # 13 days later the visit goes on; 15 days after its start a new one begins.
    page.clock.set_fixed_time(time.time() + 13 * 86400)
    page.goto(pages.url("other.html"))
    assert ready_visit(page) == second
    page.clock.set_fixed_time(time.time() + 15 * 86400)
    page.goto(pages.url("other.html"))
    third = ready_visit(page)
    assert third not in (first, second)

    ids = {hit["i"] for hit in hits.all()}
    assert len(ids) == 1 and re.fullmatch(r"[A-Za-z0-9_-]{8,40}", ids.pop())

    found = wait_stored(counting_server, site, lambda s: len(s.visits) == 3)
    visits = {row["number"]: row for row in found.visits}
    assert set(visits) == {first, second, third}
    assert {k: visits[first][k] for k in ("utm_source", "utm_medium", "utm_campaign")} == {
        "utm_source": "news",
        "utm_medium": "email",
        "utm_campaign": "spring",
    }
    assert (visits[first]["utm_term"], visits[first]["utm_content"]) == ("shoes", "hero")
    assert (visits[first]["click_id_kind"], visits[first]["click_id"]) == ("gclid", "G-123")
    assert visits[first]["landing_path"] == "/page.html"
    assert (visits[second]["utm_source"], visits[second]["click_id_kind"]) == ("ads", "yclid")
    assert (visits[third]["utm_source"], visits[third]["click_id"]) == ("", "")
    found = wait_stored(counting_server, site, lambda s: len(s.pageviews) == 8)
    assert Counter(row["visit_number"] for row in found.pageviews) == {
        first: 4,
        second: 3,
        third: 1,
    }


def test_an_event_with_props_is_stored_and_one_over_the_limits_is_refused(
    counting_server: LiveServer, open_site: OpenSite, pages: SitePages, page: Any
) -> None:
    site = open_site()
    hits = Hits(page)
    page.goto(pages.url("page.html"))
    visit = ready_visit(page)
    page.evaluate("vitrine('event', 'Signup', {plan: 'pro', seats: 3, trial: true, ratio: 0.5})")
    page.evaluate(
        "vitrine('event', 'Too many props', "
        "Object.fromEntries(Array.from({length: 31}, (_, i) => ['k' + i, i])))"
    )
    page.evaluate("vitrine('event', 'Long value', {note: 'x'.repeat(501)})")
    page.evaluate("vitrine('event', 'After', {n: 1})")
    sent = hits.wait(5)
    # The script sends them all (it does not validate); the server refuses the two over the limits.
    assert [hit.get("n") for hit in sent] == [
        None,
        "Signup",
        "Too many props",
        "Long value",
        "After",
    ]
    answers = hits.wait_answered()
    assert answers[0] == 200 and answers[1] == 204 and answers[4] == 204
    assert 400 <= answers[2] < 500 and 400 <= answers[3] < 500

    wait_stored(counting_server, site, lambda s: len(s.events) >= 2)
    time.sleep(1.2)  # one more flush: nothing else arrives
    found = stored(counting_server, site)
    assert sorted((row["name"], row["props"], row["visit_number"]) for row in found.events) == [
        ("After", {"n": 1}, visit),
        ("Signup", {"plan": "pro", "seats": 3, "trial": True, "ratio": 0.5}, visit),
    ]
    assert all(row["origin"] == "browser" for row in found.events)


def test_consent_required_holds_every_hit_until_given(
    counting_server: LiveServer, open_site: OpenSite, pages: SitePages, page: Any
) -> None:
    site = open_site(require_consent=True)
    hits = Hits(page)
    page.goto(pages.url("page.html"))
    nothing_sent(page, hits)
    page.evaluate("history.pushState({}, '', '/catalogue')")
    page.wait_for_timeout(200)
    assert len(hits) == 0

    page.evaluate("vitrine('consent', true)")
    page.evaluate("vitrine('event', 'After consent')")
    sent = hits.wait(4)
    assert [(hit["t"], hit.get("n"), hit["u"]) for hit in sent] == [
        ("p", None, pages.url("page.html")),
        ("e", "Anything", pages.url("page.html")),
        ("p", None, pages.url("catalogue")),
        ("e", "After consent", pages.url("catalogue")),
    ]
    found = wait_stored(counting_server, site, lambda s: len(s.events) == 2)
    assert len(found.pageviews) == 2 and len(found.visits) == 1


def test_consent_withheld_from_the_queue_then_given(
    counting_server: LiveServer, open_site: OpenSite, pages: SitePages, page: Any
) -> None:
    site = open_site()  # the site does not require consent; the page asks for it itself
    hits = Hits(page)
    page.goto(pages.url("consent.html"))
    nothing_sent(page, hits)
    page.evaluate("vitrine('consent', true)")
    sent = hits.wait(3)
    assert [(hit["t"], hit.get("n")) for hit in sent] == [
        ("p", None),
        ("e", "Before consent"),
        ("e", "Anything"),
    ]
    # Withdrawn again: later hits are held.
    page.evaluate("vitrine('consent', false); vitrine('event', 'Withdrawn')")
    page.wait_for_timeout(300)
    assert len(hits) == 3
    found = wait_stored(counting_server, site, lambda s: len(s.events) == 2)
    assert sorted(row["name"] for row in found.events) == ["Anything", "Before consent"]


@pytest.mark.parametrize(
    "signal",
    [
        "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})",
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})",
    ],
    ids=["dnt", "gpc"],
)
def test_do_not_track_is_honoured_when_the_site_says_so(
    counting_server: LiveServer, pages: SitePages, chromium: Any, signal: str
) -> None:
    honouring = create_site(counting_server, pages.origin, honour_dnt=True)
    ignoring = create_site(counting_server, pages.origin, honour_dnt=False)
    for site, with_signal, counted in (
        (honouring, True, False),
        (honouring, False, True),
        (ignoring, True, True),
    ):
        context = chromium.new_context()
        try:
            if with_signal:
                context.add_init_script(signal)
            page = context.new_page()
            hits = Hits(page)
            pages.site_key = site.key
            page.goto(pages.url("page.html"))
            if counted:
                assert [hit["t"] for hit in hits.wait(1)] == ["p"]
            else:
                nothing_sent(page, hits)
        finally:
            context.close()
    for site in (honouring, ignoring):  # one counted page load each
        wait_stored(counting_server, site, lambda s: len(s.pageviews) == 1)
        time.sleep(1.2)  # one more flush: nothing else arrives
        assert len(stored(counting_server, site).pageviews) == 1


def test_automated_browsers_are_not_counted_unless_the_site_allows_them(
    counting_server: LiveServer, pages: SitePages, page: Any
) -> None:
    assert page.evaluate("navigator.webdriver") is True  # Playwright's Chromium says so
    strict = create_site(counting_server, pages.origin, allow_bots=False)
    pages.site_key = strict.key
    hits = Hits(page)
    page.goto(pages.url("page.html"))
    nothing_sent(page, hits)

    lenient = create_site(counting_server, pages.origin, allow_bots=True)
    pages.site_key = lenient.key
    page.goto(pages.url("other.html"))
    assert [hit["t"] for hit in hits.wait(1)] == ["p"]
    wait_stored(counting_server, lenient, lambda s: len(s.pageviews) == 1)
    assert stored(counting_server, strict) == Stored()


def test_outbound_links_and_downloads_are_events_when_enabled(
    counting_server: LiveServer, open_site: OpenSite, pages: SitePages, page: Any
) -> None:
    site = open_site(track_outbound=True, track_downloads=True)
    hits = Hits(page)
    page.goto(pages.url("links.html"))
    loaded(page)
    for link in ("internal", "pdf", "docx", "mp3", "html", "outbound-stay"):
        page.click(f"#{link}")
    assert [(hit["t"], hit.get("n"), hit.get("p")) for hit in hits.wait(5)] == [
        ("p", None, None),
        ("e", "File Download", {"url": pages.url("files/price-list.PDF")}),
        ("e", "File Download", {"url": pages.url("files/terms.docx?v=2")}),
        ("e", "File Download", {"url": pages.url("files/song.mp3#t=10")}),
        ("e", "Outbound Link", {"url": "https://example.org/catalogue"}),
    ]
    with page.expect_navigation():
        page.click("#outbound span")  # a real navigation away: the beacon still leaves
    assert len(hits.wait(6)) == 6
    found = wait_stored(counting_server, site, lambda s: len(s.events) == 5)
    assert sorted((row["name"], row["props"]["url"]) for row in found.events) == [
        ("File Download", pages.url("files/price-list.PDF")),
        ("File Download", pages.url("files/song.mp3#t=10")),
        ("File Download", pages.url("files/terms.docx?v=2")),
        ("Outbound Link", f"{counting_server.url}/healthz"),
        ("Outbound Link", "https://example.org/catalogue"),
    ]


def test_link_clicks_are_not_events_when_disabled(
    counting_server: LiveServer, open_site: OpenSite, pages: SitePages, page: Any
) -> None:
    open_site()
    hits = Hits(page)
    page.goto(pages.url("links.html"))
    loaded(page)
    for link in ("pdf", "docx", "mp3"):
        page.click(f"#{link}")
    send_end(page)
    assert [hit["t"] for hit in hits.until_event("end")] == ["p"]


def test_the_owner_excludes_their_own_visits(
    counting_server: LiveServer, open_site: OpenSite, pages: SitePages, page: Any
) -> None:
    site = open_site()
    hits = Hits(page)
    page.goto(pages.url("page.html?vitrine_ignore=1"))
    nothing_sent(page, hits)
    assert page.evaluate("localStorage._vx") == "1"
    page.goto(pages.url("other.html"))  # the flag stays
    nothing_sent(page, hits)

    page.goto(pages.url("page.html?vitrine_ignore=0"))
    assert [hit["t"] for hit in hits.wait(1)] == ["p"]
    assert page.evaluate("localStorage._vx") is None
    found = wait_stored(counting_server, site, lambda s: len(s.pageviews) == 1)
    assert found.pageviews[0]["url"] == pages.url("page.html?vitrine_ignore=0")
