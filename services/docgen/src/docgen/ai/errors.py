"""Why the model could not be used (importable without loading the SDK)."""

from __future__ import annotations


class AiFailed(Exception):
    """The model could not be used; `reason` is recorded as the documentation's fallback reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
