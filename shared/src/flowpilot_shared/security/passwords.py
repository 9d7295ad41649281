"""Password hashing with argon2id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")
_hasher = PasswordHasher()
# Verifying against this keeps unknown-email logins as slow as wrong-password ones.
_DUMMY_HASH = _hasher.hash("flowpilot-timing-equaliser")


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; constant work whether or not a hash exists."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class PasswordWorkBusy(RuntimeError):
    """Every password-hashing slot stayed taken for the whole wait: the caller should try again shortly."""


class PasswordWork:
    """argon2 off the event loop, at most `concurrency` at once.

    Each hash or verification takes ~64 MiB (argon2's memory cost) and a core for a while: unbounded,
    a flood of sign-ins would exhaust the process's memory. A request waits up to `wait_seconds` for
    a slot, then gets `PasswordWorkBusy` (answered 503 + Retry-After) rather than queueing forever.
    """

    def __init__(self, *, concurrency: int, wait_seconds: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._wait_seconds = wait_seconds

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        try:
            async with asyncio.timeout(self._wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise PasswordWorkBusy("too many password checks at once") from None
        try:
            return await asyncio.to_thread(func, *args)
        finally:
            self._slots.release()

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """`verify_password` in a slot."""
        return await self._run(verify_password, password_hash, password)

    async def hash(self, password: str) -> str:
        """`hash_password` in a slot."""
        return await self._run(hash_password, password)
