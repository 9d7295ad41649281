"""Access tokens cached per integration until shortly before they expire (kept in memory only)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field


def cache_key(*parts: str) -> str:
    """A key naming one integration's credentials without holding them (a digest)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


@dataclass
class TokenCache:
    """Bearer tokens by integration key, each with its expiry on the monotonic clock."""

    # Tokens are dropped this long before the expiry the token endpoint announced.
    margin_seconds: float = 60.0
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        """A token still valid now, or None."""
        entry = self._tokens.get(key)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def put(self, key: str, token: str, valid_for: float) -> None:
        """Remember a token for `valid_for` seconds from now."""
        self._tokens[key] = (token, time.monotonic() + max(valid_for, 0.0))

    def invalidate(self, key: str, token: str | None = None) -> None:
        """Forget the key's token (only if it is still `token`, when given)."""
        entry = self._tokens.get(key)
        if entry is not None and (token is None or entry[0] == token):
            del self._tokens[key]

    def lock(self, key: str) -> asyncio.Lock:
        """One lock per key so concurrent pushes fetch one token, not one each."""
        return self._locks.setdefault(key, asyncio.Lock())

    def __repr__(self) -> str:
        return f"TokenCache({len(self._tokens)} tokens)"
