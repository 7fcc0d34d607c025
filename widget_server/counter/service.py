"""Counter rules: site settings, turning a valid hit into buffered rows (visit assignment,
source and device, bot and IP filters), server-side events, flushing, who is on the site now.

No HTTP and no SQL here: ``routes.py`` parses requests, ``store.py`` and ``buffer.py`` write.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine

from widget_server.accounts import service as accounts
from widget_server.accounts.models import Access
from widget_server.counter import sources, store
from widget_server.counter.hits import Hit, ServerEvent
from widget_server.counter.state import IpNetwork, SiteConfig
from widget_server.counter.store import CounterSettings, VisitSource
from widget_server.db.metadata import utcnow
from widget_server.errors import InvalidRequest, field_error, invalid
from widget_server.i18n import _

if TYPE_CHECKING:
    from widget_server.runtime import Runtime

__all__ = [
    "CounterSettings",
    "VisitSource",
    "flush",
    "online_now",
    "record_hit",
    "settings_of",
    "site_config",
    "track_server_event",
    "update_settings",
    "visit_pages",
    "visit_source",
]

MAX_GOALS = 50
MAX_GOAL = 120
MAX_EXCLUDED = 100
ONLINE_WINDOW = timedelta(minutes=5)


# --- settings --------------------------------------------------------------------------------


async def settings_of(engine: AsyncEngine, site_id: int) -> CounterSettings:
    async with engine.connect() as conn:
        return await store.settings_of(conn, site_id)


def clean_excluded_ips(values: list[str]) -> tuple[str, ...]:
    """Addresses and CIDR blocks, one per entry (blank ones skipped), normalised."""
    cleaned: list[str] = []
    bad: list[str] = []
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        try:
            normalised = str(
                ipaddress.ip_network(value, strict=False) if "/" in value
                else ipaddress.ip_address(value)
            )  # fmt: skip
        except ValueError:
            bad.append(value)
            continue
        if normalised not in cleaned:
            cleaned.append(normalised)
    if bad:
        message = _("Not an IP address or CIDR block: {values}.").format(values=", ".join(bad))
        raise invalid("excluded_ips", message)
    if len(cleaned) > MAX_EXCLUDED:
        message = _("At most {count} addresses or blocks.").format(count=MAX_EXCLUDED)
        raise invalid("excluded_ips", message)
    return tuple(cleaned)


def clean_goals(values: list[str]) -> tuple[str, ...]:
    cleaned: list[str] = []
    for raw in values:
        value = raw.strip()
        if not value or value in cleaned:
            continue
        if len(value) > MAX_GOAL:
            message = _("A goal must be at most {count} characters: {name}…").format(
                count=MAX_GOAL, name=value[:40]
            )
            raise invalid("goals", message)
        cleaned.append(value)
    if len(cleaned) > MAX_GOALS:
        raise invalid("goals", _("At most {count} goals.").format(count=MAX_GOALS))
    return tuple(cleaned)


async def update_settings(
    access: Access,
    engine: AsyncEngine,
    *,
    honour_dnt: bool | None = None,
    require_consent: bool | None = None,
    track_outbound: bool | None = None,
    track_downloads: bool | None = None,
    hash_routing: bool | None = None,
    allow_bots: bool | None = None,
    excluded_ips: list[str] | None = None,
    goals: list[str] | None = None,
) -> CounterSettings:
    """Change the given settings (admins only); the others keep their value."""
    accounts.require_admin(access)
    flags = {
        "honour_dnt": honour_dnt,
        "require_consent": require_consent,
        "track_outbound": track_outbound,
        "track_downloads": track_downloads,
        "hash_routing": hash_routing,
        "allow_bots": allow_bots,
    }
    changes: dict[str, Any] = {name: value for name, value in flags.items() if value is not None}
    details = [
        field_error(name, _("Must be true or false."), "type")
        for name, value in changes.items()
        if not isinstance(value, bool)
    ]
    for name, values, clean in (
        ("excluded_ips", excluded_ips, clean_excluded_ips),
        ("goals", goals, clean_goals),
    ):
        if values is None:
            continue
        try:
            changes[name] = clean(list(values))
        except InvalidRequest as exc:
            details.extend(exc.details)
    if details:
        raise InvalidRequest(_("Some settings are not valid."), details=details)
    current = await settings_of(engine, access.site.id)
    updated = replace(current, **changes)
    await store.save_settings(engine, access.site.id, updated, utcnow())
    return updated


# --- sites as ingestion sees them ------------------------------------------------------------


async def site_config(state: Runtime, key: str, *, fresh: bool = False) -> SiteConfig | None:
    """The site behind a key with its counter settings (None when unknown), from the process's
    cache unless ``fresh`` or older than ``state.SITE_TTL``.

    When the entry expires under load, every hit of the site misses at once: they share one
    read (each would otherwise take a pool connection, and on SQLite the write lock, in turn).
    """
    if fresh:
        return await _read_site(state, key)
    counter = state.counter
    found, config = counter.cached_site(key)
    if found:
        return config
    reading = counter.site_reads.get(key)
    if reading is None:
        reading = asyncio.ensure_future(_read_site(state, key))
        counter.site_reads[key] = reading
        reading.add_done_callback(functools.partial(_read_done, counter.site_reads, key))
    return await asyncio.shield(reading)


def _read_done(
    reads: dict[str, asyncio.Future[SiteConfig | None]],
    key: str,
    reading: asyncio.Future[SiteConfig | None],
) -> None:
    if reads.get(key) is reading:
        del reads[key]
    if not reading.cancelled():
        reading.exception()  # retrieved: every waiter may have gone (their hits get it raised)


async def _read_site(state: Runtime, key: str) -> SiteConfig | None:
    site = await accounts.site_by_key(state.engine, key) if len(key) <= 64 else None
    config = None
    if site is not None:
        settings = await settings_of(state.engine, site.id)
        excluded: list[IpNetwork] = [ipaddress.ip_network(v) for v in settings.excluded_ips]
        config = SiteConfig(
            site_id=site.id,
            key=site.key,
            allowed_origins=tuple(site.allowed_origins),
            settings=settings,
            excluded=tuple(excluded),
        )
    state.counter.remember_site(key, config)
    return config


def script_config(
    config: SiteConfig, base_url: str, modules: list[str] | None = None, buy: str | None = None
) -> dict[str, Any]:
    """The object baked into the site's counter script (keys: docs/counter-protocol.md);
    ``modules``: the widget modules to load (widgets.service.counter_modules); ``buy``: the buy
    buttons' module, loaded only by pages that use them (payments.buy.module_url)."""
    settings = config.settings
    return {
        "k": config.key,
        "e": f"{base_url.rstrip('/')}/t/{config.key}",
        "n": int(settings.honour_dnt),
        "c": int(settings.require_consent),
        "o": int(settings.track_outbound),
        "d": int(settings.track_downloads),
        "h": int(settings.hash_routing),
        "b": int(settings.allow_bots),
        "m": list(modules or []),
        "y": buy,
    }


# --- hits --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)  # a site's pages come back again and again
def _path_of(url: str, hash_routing: bool) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    if hash_routing and parts.fragment:
        path += "#" + parts.fragment
    return path[:1024]


async def _visit_number(state: Runtime, site_id: int, sent: int | None) -> tuple[int, bool]:
    """The hit's visit number, and whether it starts a new visit."""
    numbers = state.counter.numbers
    if sent is not None and await numbers.was_issued(state.engine, site_id, sent):
        return sent, False
    return await numbers.take(state.engine, site_id), True


async def record_hit(
    state: Runtime, site: SiteConfig, hit: Hit, *, ip: str, user_agent: str
) -> tuple[int, bool]:
    """Buffer a valid hit; returns its visit number and whether the hit started a new visit
    (``False``: the number it carried was issued for the site, the visit goes on). Hits from
    bots (unless the site allows them) and excluded IPs are answered the same way (the same
    number and flag) but store nothing."""
    buffer = state.counter.buffer
    number, new = await _visit_number(state, site.site_id, hit.visit)
    dropped = (not site.settings.allow_bots and sources.is_bot(user_agent)) or site.excludes(ip)
    if dropped:
        return number, new
    now = utcnow()
    path = _path_of(hit.url, site.settings.hash_routing)
    visit = None
    if new:
        source = sources.source_of(hit.url, hit.referrer)
        visit = {
            "site_id": site.site_id,
            "number": number,
            "visitor_id": hit.visitor_id,
            "started_at": now,
            "landing_url": hit.url,
            "landing_path": path,
            "referrer": hit.referrer,
            "referrer_domain": source.referrer_domain,
            **source.utm,
            "click_id_kind": source.click_id_kind,
            "click_id": source.click_id,
            "channel": source.channel,
            "device": sources.device_of(user_agent),
        }
    common = {"site_id": site.site_id, "visit_number": number, "visitor_id": hit.visitor_id}
    if hit.kind == "p":
        pageview = {**common, "url": hit.url, "path": path, "at": now}
        buffer.add(visit=visit, pageview=pageview)
    else:
        event = {**common, "name": hit.name, "props": hit.props, "origin": "browser", "at": now}
        buffer.add(visit=visit, event=event)
    return number, new


async def visit_issued(state: Runtime, site_id: int, number: int) -> bool:
    """Whether the site's counter ever gave out this visit number: what joins an event or an
    order to a visit must name one (a made-up number would credit a source with it)."""
    return await state.counter.numbers.was_issued(state.engine, site_id, number)


def unknown_visit() -> InvalidRequest:
    return invalid("visit", _("Unknown visit number."), "unknown_visit")


async def track_server_event(state: Runtime, site_id: int, event: ServerEvent) -> None:
    """Buffer an event sent by the site's backend, optionally joined to a visit."""
    if event.visit is not None and not await visit_issued(state, site_id, event.visit):
        raise unknown_visit()
    state.counter.buffer.add(
        event={
            "site_id": site_id,
            "visit_number": event.visit,
            "visitor_id": None,
            "name": event.name,
            "props": event.props,
            "origin": "server",
            "at": utcnow(),
        }
    )


async def flush(state: Runtime) -> int:
    """Write every buffered hit now; returns how many rows were written."""
    return await state.counter.buffer.flush(state.engine)


async def online_now(state: Runtime, site_id: int) -> int:
    """Distinct visitors with a pageview in the last five minutes (stored or still buffered)."""
    since = utcnow() - ONLINE_WINDOW
    visitors = await store.visitors_since(state.engine, site_id, since)
    visitors.update(
        row["visitor_id"]
        for row in state.counter.buffer.pageviews
        if row["site_id"] == site_id and row["at"] >= since
    )
    return len(visitors)


# --- visits as other features see them --------------------------------------------------------


async def visit_source(engine: AsyncEngine, site_id: int, number: int) -> VisitSource | None:
    """Where the visit with this number came from (None until its first hit is flushed)."""
    async with engine.connect() as conn:
        return await store.visit_source(conn, site_id, number)


async def visit_pages(
    state: Runtime, site_id: int, number: int, limit: int = 100
) -> list[tuple[str, datetime]]:
    """The pages seen in a visit, oldest first, (url, at): stored ones, then those of this
    process's buffer not yet flushed."""
    async with state.engine.connect() as conn:
        pages = await store.visit_pages(conn, site_id, number, limit)
    pages.extend(
        (row["url"], row["at"])
        for row in state.counter.buffer.pageviews
        if row["site_id"] == site_id and row["visit_number"] == number
    )
    return pages[:limit]
