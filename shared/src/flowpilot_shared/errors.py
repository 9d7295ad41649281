"""The one error family for work that can fail: whether trying again can help.

Raised by whatever does the work (a consumer's handler, a channel's send, a PSA provider's call) and
read by whatever retries it (the consumer runtime, the channel dispatch, the PSA push): a transient
failure is tried again with backoff, honouring `retry_after`, up to a bound; a permanent one is
recorded as failed (or dead-lettered) at once. Messages are safe to store and show: never credentials.
"""

from __future__ import annotations


class TransientError(Exception):
    """Worth retrying (a 429, a 5xx, a timeout, a refused connection); `retry_after` in seconds if known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """Retrying cannot help (bad credentials, an unknown ticket, an invalid request, a refused URL)."""
