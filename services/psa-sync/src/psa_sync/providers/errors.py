"""Errors a PSA call ends in; their messages never carry credentials."""

from __future__ import annotations


class PsaError(Exception):
    """A PSA call did not produce a note; the message is safe to store and show."""


class PsaTransientError(PsaError):
    """Worth retrying (429, 5xx, timeout, connection trouble); `retry_after` in seconds if the PSA said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PsaPermanentError(PsaError):
    """Retrying cannot help (bad credentials, unknown ticket, invalid request, refused URL)."""


class PsaNoteGone(PsaPermanentError):
    """The note to update is no longer on the ticket (deleted in the PSA): a new one is created instead."""
