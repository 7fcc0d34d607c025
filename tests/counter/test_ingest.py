"""POST /t/{site_key}: refusals in the error shape with nothing stored, visits and their
sources, the visit number (200 {"v"} for a new visit, 204 for one that goes on), events,
filters, the rate limit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import SiteTeam
from tests.counter.conftest import (
    IPHONE,
    ORIGIN,
    VISITOR,
    count,
    pageview,
    rows,
    send,
    snapshot,
)
from widget_server.accounts import service as accounts
from widget_server.counter import service
from widget_server.counter.buffer import HitBuffer
from widget_server.counter.ratelimit import RateLimiter
from widget_server.counter.tables import events, pageviews, visits
from widget_server.runtime import Runtime

BAD_HITS: list[tuple[str, dict[str, Any] | bytes, int, str, set[str]]] = [
    # (id, body, status, code, fields named in details)
    ("garbage JSON", b"{not json", 400, "bad_request", set()),
    ("not UTF-8", b"\xff\xfe{", 400, "bad_request", set()),
    ("a JSON array", b"[1, 2]", 400, "bad_request", set()),
    ("a JSON string", b'"p"', 400, "bad_request", set()),
    ("deep nesting", b"[" * 3000, 400, "bad_request", set()),
    ("empty body", b"", 400, "bad_request", set()),
    ("empty object", {}, 422, "invalid_request", {"t", "u", "i"}),
    (
        "wrong types",
        {"t": 1, "u": 5, "i": 12345678, "v": "1000", "r": ["x"]},
        422,
        "invalid_request",
        {"t", "u", "i", "v", "r"},
    ),
    ("unknown kind", pageview(t="x"), 422, "invalid_request", {"t"}),
    ("relative URL", pageview(u="/pricing"), 422, "invalid_request", {"u"}),
    ("javascript URL", pageview(u="javascript:alert(1)"), 422, "invalid_request", {"u"}),
    ("URL too long", pageview(u=ORIGIN + "/" + "a" * 2048), 422, "invalid_request", {"u"}),
    ("visitor id short", pageview(i="abc"), 422, "invalid_request", {"i"}),
    ("visitor id charset", pageview(i="visitor id!"), 422, "invalid_request", {"i"}),
    ("visit zero", pageview(v=0), 422, "invalid_request", {"v"}),
    ("visit float", pageview(v=1000.5), 422, "invalid_request", {"v"}),
    ("visit boolean", pageview(v=True), 422, "invalid_request", {"v"}),
    ("event without name", pageview(t="e"), 422, "invalid_request", {"n"}),
    ("event name too long", pageview(t="e", n="x" * 121), 422, "invalid_request", {"n"}),
    ("props not object", pageview(t="e", n="Buy", p=[1]), 422, "invalid_request", {"p"}),
    (
        "too many props",
        pageview(t="e", n="Buy", p={f"k{i}": i for i in range(31)}),
        422,
        "invalid_request",
        {"p"},
    ),
    (
        "a 501-char value",
        pageview(t="e", n="Buy", p={"note": "x" * 501}),
        422,
        "invalid_request",
        {"p.note"},
    ),
    ("long prop key", pageview(t="e", n="Buy", p={"k" * 41: 1}), 422, "invalid_request", set()),
    ("empty prop key", pageview(t="e", n="Buy", p={"": 1}), 422, "invalid_request", {"p."}),
    (
        "nested prop",
        pageview(t="e", n="Buy", p={"a": {"b": 1}, "c": None, "d": [1]}),
        422,
        "invalid_request",
        {"p.a", "p.c", "p.d"},
    ),
    (
        "non-finite number",
        b'{"t":"e","u":"https://shop.example.com/","i":"visitor-0001","n":"Buy","p":{"x":NaN}}',
        422,
        "invalid_request",
        {"p.x"},
    ),
    ("huge integer", pageview(t="e", n="Buy", p={"x": 2**60}), 422, "invalid_request", {"p.x"}),
]


def assert_error_shape(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"status", "code", "message", "details"}
    assert (error["status"], error["code"]) == (status, code)
    assert error["message"]
    return error


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [case[1:] for case in BAD_HITS],
    ids=[case[0] for case in BAD_HITS],
)
async def test_bad_hits_are_refused_and_store_nothing(
    client: httpx.AsyncClient,
    state: Runtime,
    team: SiteTeam,
    body: dict[str, Any] | bytes,
    status: int,
    code: str,
    fields: set[str],
) -> None:
    before = await snapshot(state)
    response = await send(client, team, body)
    error = assert_error_shape(response, status, code)
    assert fields <= {detail["field"] for detail in error["details"]}
    if status == 422:
        assert error["details"]
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert await snapshot(state) == before


@pytest.mark.parametrize(
    ("origin", "key", "status", "code"),
    [
        ("https://evil.example.net", None, 403, "forbidden"),
        ("http://shop.example.com", None, 403, "forbidden"),
        ("https://shop.example.com.evil.net", None, 403, "forbidden"),
        ("null", None, 403, "forbidden"),
        (None, None, 403, "forbidden"),
        (ORIGIN, "nosuchsite", 404, "not_found"),
    ],
)
async def test_wrong_origin_or_site_is_refused(
    client: httpx.AsyncClient,
    state: Runtime,
    team: SiteTeam,
    origin: str | None,
    key: str | None,
    status: int,
    code: str,
) -> None:
    before = await snapshot(state)
    response = await send(client, team, pageview(), origin=origin, key=key)
    assert_error_shape(response, status, code)
    assert "access-control-allow-origin" not in response.headers
    assert await snapshot(state) == before


async def test_bodies_over_4_kb_are_refused(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    before = await snapshot(state)
    body = json.dumps(pageview(r="https://example.com/" + "x" * 5000))
    declared = await send(client, team, body)
    assert_error_shape(declared, 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000].encode()

    streamed = await client.post(
        f"/t/{team.site.key}", content=chunks(), headers={"Origin": ORIGIN}
    )
    assert "content-length" not in streamed.request.headers
    assert_error_shape(streamed, 413, "payload_too_large")
    assert streamed.headers["access-control-allow-origin"] == ORIGIN
    assert await snapshot(state) == before


async def test_a_pageview_starts_a_visit_with_its_source(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    url = (
        f"{ORIGIN}/kettles?utm_source=google&utm_medium=cpc&utm_campaign=spring"
        "&utm_term=kettle&utm_content=red&gclid=Cj0KCQ"
    )
    response = await send(
        client, team, pageview(u=url, r="https://www.google.com/"), user_agent=IPHONE
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in response.headers["vary"]
    number = response.json()["v"]
    assert number == 1000
    assert await count(state, visits) == 0  # buffered, not written per request
    assert await service.flush(state) == 2
    (visit,) = await rows(state, visits)
    assert visit.site_id == team.site.id
    assert visit.number == number
    assert visit.visitor_id == VISITOR
    assert (visit.landing_url, visit.landing_path) == (url, "/kettles")
    assert (visit.referrer, visit.referrer_domain) == ("https://www.google.com/", "google.com")
    assert (visit.utm_source, visit.utm_medium, visit.utm_campaign) == ("google", "cpc", "spring")
    assert (visit.utm_term, visit.utm_content) == ("kettle", "red")
    assert (visit.click_id_kind, visit.click_id) == ("gclid", "Cj0KCQ")
    assert (visit.channel, visit.device) == ("ads", "mobile")
    (view,) = await rows(state, pageviews)
    assert (view.visit_number, view.url, view.path, view.visitor_id) == (
        number,
        url,
        "/kettles",
        VISITOR,
    )


async def test_later_hits_with_the_number_join_the_visit(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    first = (await send(client, team, pageview())).json()["v"]
    second = await send(client, team, pageview(u=f"{ORIGIN}/about", v=first))
    assert (second.status_code, second.content) == (204, b"")
    event = pageview(t="e", v=first, n="Signup", p={"plan": "pro", "seats": 3, "trial": True})
    assert (await send(client, team, event)).status_code == 204
    await service.flush(state)
    assert await count(state, visits) == 1
    assert [(view.visit_number, view.path) for view in await rows(state, pageviews)] == [
        (first, "/"),
        (first, "/about"),
    ]
    (stored,) = await rows(state, events)
    assert (stored.visit_number, stored.name, stored.origin) == (first, "Signup", "browser")
    assert stored.props == {"plan": "pro", "seats": 3, "trial": True}
    assert stored.visitor_id == VISITOR


async def test_a_continuing_hit_gets_204_with_no_body_and_cors(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    first = await send(client, team, pageview())
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    number = first.json()["v"]
    for hit in (pageview(u=f"{ORIGIN}/about", v=number), pageview(t="e", n="Buy", v=number)):
        response = await send(client, team, hit)
        assert response.status_code == 204
        assert response.content == b""
        assert "content-type" not in response.headers
        assert response.headers.get("content-length", "0") == "0"
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "Origin" in response.headers["vary"]
    await service.flush(state)
    assert await count(state, visits) == 1
    assert [view.visit_number for view in await rows(state, pageviews)] == [number, number]


async def test_an_unknown_number_starts_a_new_visit(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    first = (await send(client, team, pageview())).json()["v"]
    for unknown in (999, 10_000_000):
        response = await send(client, team, pageview(v=unknown))
        assert response.status_code == 200
        answer = response.json()["v"]
        assert answer not in (unknown, first)
    await service.flush(state)
    assert await count(state, visits) == 3


async def test_numbers_are_unique_and_start_at_1000(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    state.counter.numbers.block_size = 7  # several blocks in one test
    numbers = [(await send(client, team, pageview())).json()["v"] for _ in range(20)]
    assert numbers == list(range(1000, 1020))
    await service.flush(state)
    assert sorted(visit.number for visit in await rows(state, visits)) == numbers


async def test_an_event_can_start_a_visit(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    response = await send(client, team, pageview(t="e", n="Outbound Link", p={"url": "x"}))
    await service.flush(state)
    (visit,) = await rows(state, visits)
    (event,) = await rows(state, events)
    assert visit.number == event.visit_number == response.json()["v"]
    assert await count(state, pageviews) == 0


async def test_bots_are_answered_but_not_stored(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    before = await snapshot(state)
    for agent in ("Mozilla/5.0 (compatible; Googlebot/2.1)", "HeadlessChrome/126.0", ""):
        response = await send(client, team, pageview(), user_agent=agent)
        assert response.status_code == 200
        number = response.json()["v"]
        assert number >= 1000
        # Its visit goes on exactly as a stored one would: 204, no body, CORS headers.
        going_on = await send(client, team, pageview(v=number), user_agent=agent)
        assert (going_on.status_code, going_on.content) == (204, b"")
        assert going_on.headers["access-control-allow-origin"] == ORIGIN
        # A number never issued starts a new visit, for a bot too.
        unknown = await send(client, team, pageview(v=10_000_000), user_agent=agent)
        assert unknown.status_code == 200
        assert unknown.json()["v"] not in (number, 10_000_000)
    after = await snapshot(state)
    assert (after["visits"], after["pageviews"]) == (before["visits"], before["pageviews"])

    await service.update_settings(team.access(), state.engine, allow_bots=True)
    state.counter.forget_site(team.site.key)
    await send(client, team, pageview(), user_agent="HeadlessChrome/126.0")
    await service.flush(state)
    assert await count(state, visits) == await count(state, pageviews) == 1


async def test_excluded_addresses_are_answered_but_not_stored(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    # The test client's address is 203.0.113.7 (tests/conftest.py).
    await service.update_settings(
        team.access(), state.engine, excluded_ips=["198.51.100.1", "203.0.113.0/24"]
    )
    state.counter.forget_site(team.site.key)
    response = await send(client, team, pageview())
    assert response.status_code == 200
    going_on = await send(client, team, pageview(v=response.json()["v"]))
    assert (going_on.status_code, going_on.content) == (204, b"")
    assert going_on.headers["access-control-allow-origin"] == ORIGIN
    await service.flush(state)
    assert await count(state, visits) == await count(state, pageviews) == 0

    await service.update_settings(team.access(), state.engine, excluded_ips=["198.51.100.1"])
    state.counter.forget_site(team.site.key)
    await send(client, team, pageview())
    await service.flush(state)
    assert await count(state, visits) == 1


async def test_rate_limit_per_address(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    state.counter.limiter = RateLimiter(burst=3, per_second=0.1)
    for _ in range(3):
        assert (await send(client, team, pageview())).status_code == 200
    refused = await send(client, team, pageview())
    assert_error_shape(refused, 429, "rate_limited")
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    await service.flush(state)
    assert await count(state, visits) == 3


async def test_a_full_buffer_answers_busy(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    state.counter.buffer = HitBuffer(max_rows=4)
    assert (await send(client, team, pageview())).status_code == 200  # 2 rows
    busy = await send(client, team, pageview())  # would pass 4 with a visit's rows
    assert_error_shape(busy, 429, "rate_limited")
    assert busy.headers["retry-after"] == "5"
    assert await service.flush(state) == 2
    assert (await send(client, team, pageview())).status_code == 200


async def test_wildcard_origins_cover_subdomains(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    await accounts.update_site(
        team.access(),
        state.engine,
        name="Shop",
        allowed_origins=["https://*.example.org"],
        time_zone="UTC",
        default_language="en",
    )
    state.counter.forget_site(team.site.key)
    url = "https://blog.example.org/"
    ok = await send(client, team, pageview(u=url), origin="https://blog.example.org")
    assert ok.status_code == 200
    for origin in ("https://example.org", "http://blog.example.org", "https://example.org.evil"):
        assert (await send(client, team, pageview(u=url), origin=origin)).status_code == 403


async def test_options_is_answered(client: httpx.AsyncClient, team: SiteTeam) -> None:
    response = await client.options(
        f"/t/{team.site.key}",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()
    other = await client.options(f"/t/{team.site.key}", headers={"Origin": "https://evil.net"})
    assert "access-control-allow-origin" not in other.headers
    assert (await client.options("/t/nosuchsite")).status_code == 404


async def test_hash_routing_keeps_the_fragment_in_the_path(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    await send(client, team, pageview(u=f"{ORIGIN}/app#/before"))
    await service.update_settings(team.access(), state.engine, hash_routing=True)
    state.counter.forget_site(team.site.key)
    await send(client, team, pageview(u=f"{ORIGIN}/app#/settings"))
    await service.flush(state)
    assert [view.path for view in await rows(state, pageviews)] == ["/app", "/app#/settings"]


async def test_online_now_counts_stored_and_buffered_visitors(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam
) -> None:
    assert await service.online_now(state, team.site.id) == 0
    await send(client, team, pageview(i="visitor-aaaa"))
    await send(client, team, pageview(i="visitor-bbbb"))
    assert await service.online_now(state, team.site.id) == 2  # still buffered
    await service.flush(state)
    await send(client, team, pageview(i="visitor-aaaa"))
    await send(client, team, pageview(i="visitor-cccc", u=f"{ORIGIN}/x"))
    assert await service.online_now(state, team.site.id) == 3
    await send(client, team, pageview(t="e", n="Buy", i="visitor-dddd"))  # events do not count
    assert await service.online_now(state, team.site.id) == 3
