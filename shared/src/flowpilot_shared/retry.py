"""Backoff arithmetic every retrying caller shares (consumers, channels, PSA pushes)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def backoff_seconds(
    attempt: int, base: float, cap: float, retry_after: float | None, *, retry_after_cap: float | None = None
) -> float:
    """Exponential backoff for `attempt` (1-based), never shorter than a server's Retry-After (capped)."""
    delay = min(base * (2 ** (attempt - 1)), cap)
    if retry_after is not None:
        wanted = retry_after if retry_after_cap is None else min(retry_after, retry_after_cap)
        delay = max(delay, wanted)
    return delay


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
