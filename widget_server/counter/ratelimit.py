"""A per-IP token bucket for hits, in memory, per process.

Default: a burst of 120 hits, refilled at 12 a second (120 hits per 10 s per IP), far above what
a person browsing sends, low enough that one client cannot flood the buffer. Over the limit a
hit gets 429 with ``Retry-After``. Each process counts on its own, so N processes behind a load
balancer allow up to N times as much: a bound against floods, not a quota.
"""

from __future__ import annotations

import math
import time


class RateLimiter:
    def __init__(self, burst: int = 120, per_second: float = 12.0, max_keys: int = 50_000) -> None:
        self.burst = burst
        self.per_second = per_second
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def wait_for(self, key: str) -> int:
        """Take one token for ``key``: 0 if it is allowed now, else the seconds to wait."""
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.per_second))
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            self._forget_idle(now)
        self._buckets[key] = (tokens - 1, now)
        return 0

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets that have refilled completely (they behave as new ones)."""
        full = self.burst / self.per_second
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
        if len(self._buckets) >= self.max_keys:  # all busy: forget the oldest half
            oldest = sorted(self._buckets.items(), key=lambda item: item[1][1])
            self._buckets = dict(oldest[len(oldest) // 2 :])
