"""What the counter keeps in each process's memory (``Runtime.counter``): the write buffer, the
reserved visit numbers, the per-IP rate limiter, compiled scripts, and recently read sites."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass, field

from widget_server.counter.buffer import HitBuffer
from widget_server.counter.numbers import VisitNumbers
from widget_server.counter.ratelimit import RateLimiter
from widget_server.counter.script import ScriptCache
from widget_server.counter.store import CounterSettings

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SiteConfig:
    """What ingestion needs to know about a site, read once per ``SITE_TTL`` seconds."""

    site_id: int
    key: str
    allowed_origins: tuple[str, ...]
    settings: CounterSettings
    excluded: tuple[IpNetwork, ...]

    def allows(self, origin: str) -> bool:
        """Exact match, or ``scheme://*.domain`` entries for any subdomain of ``domain``."""
        origin = origin.strip().rstrip("/").lower()
        scheme, sep, host = origin.partition("://")
        if not sep or not host:
            return False
        for allowed in self.allowed_origins:
            if allowed == origin:
                return True
            if allowed.startswith(f"{scheme}://*.") and host.endswith(allowed[len(scheme) + 4 :]):
                return True
        return False

    def excludes(self, ip: str) -> bool:
        if not self.excluded:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self.excluded)


# How long a process trusts what it read about a site: an origin or settings change made in the
# console reaches the other processes' ingestion within this time (at once in the process that
# saved it, and the script route always reads afresh).
SITE_TTL = 10.0
MAX_SITES = 10_000


@dataclass
class CounterState:
    buffer: HitBuffer = field(default_factory=HitBuffer)
    numbers: VisitNumbers = field(default_factory=VisitNumbers)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    scripts: ScriptCache = field(default_factory=ScriptCache)
    sites: dict[str, tuple[float, SiteConfig | None]] = field(default_factory=dict)
    # Reads of a site under way (service.site_config): concurrent misses share one.
    site_reads: dict[str, asyncio.Future[SiteConfig | None]] = field(default_factory=dict)

    def cached_site(self, key: str) -> tuple[bool, SiteConfig | None]:
        """(found, config): a fresh cache entry, also for unknown keys (None)."""
        entry = self.sites.get(key)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def remember_site(self, key: str, config: SiteConfig | None) -> None:
        if len(self.sites) >= MAX_SITES:
            self.sites.clear()
        self.sites[key] = (time.monotonic() + SITE_TTL, config)

    def forget_site(self, key: str) -> None:
        self.sites.pop(key, None)
        self.site_reads.pop(key, None)  # a read under way may predate the change: not shared
