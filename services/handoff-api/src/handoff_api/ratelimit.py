"""A per-account sliding-window rate limit, in process (each replica limits its own share)."""

from __future__ import annotations

import math
import time
from collections import deque


class SlidingWindowLimiter:
    """At most `limit` hits per key in any `window` seconds."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._last_sweep = time.monotonic()

    def hit(self, key: str) -> float | None:
        """Record a hit; None when allowed, else the seconds to wait before retrying."""
        if self.limit <= 0:
            return None
        now = time.monotonic()
        self._sweep(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(hits[0] + self.window - now, 0.001)
        hits.append(now)
        return None

    def _sweep(self, now: float) -> None:
        # Forget idle keys now and then so memory stays bounded by the active accounts.
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]


def retry_after_header(seconds: float) -> str:
    """A whole-second Retry-After value (at least 1)."""
    return str(max(1, math.ceil(seconds)))
