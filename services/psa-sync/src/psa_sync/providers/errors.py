"""The PSA's own failure beyond the shared family (`flowpilot_shared.errors`: transient or permanent)."""

from __future__ import annotations

from flowpilot_shared.errors import PermanentError


class PsaNoteGone(PermanentError):
    """The note to update is no longer on the ticket (deleted in the PSA): a new one is created instead."""
