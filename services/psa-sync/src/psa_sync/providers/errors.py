"""Errors a PSA call ends in; their messages never carry credentials."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


class PsaError(Exception):
    """A PSA call did not produce a note; the message is safe to store and show."""


class PsaTransientError(PsaError):
    """Worth retrying (429, 5xx, timeout, connection trouble); `retry_after` in seconds if the PSA said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PsaPermanentError(PsaError):
    """Retrying cannot help (bad credentials, unknown ticket, invalid request, refused URL)."""


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
