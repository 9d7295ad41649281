"""Wait for conditions with a timeout: never a fixed sleep."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_until(
    probe: Callable[[], Awaitable[T] | T],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "",
) -> T:
    """Poll `probe` until it returns something truthy; fail with `message` after `timeout` seconds.

    The probe may be a coroutine function (a database or broker read) or a plain one (what a fake
    server or a callback has recorded so far)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last  # type: ignore[no-any-return]
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s: {message or probe} (last={last!r})")
