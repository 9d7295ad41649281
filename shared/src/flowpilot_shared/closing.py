"""Closing connections on the way out without hanging on a peer that is gone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterable
from typing import Any, Protocol

CLOSE_TIMEOUT_SECONDS = 5.0


class Closable(Protocol):
    """Anything with an async `close()` (broker connections and channels, database connections)."""

    def close(self) -> Awaitable[Any]: ...


async def close_quietly(resource: Closable | None) -> None:
    """Close `resource`, giving up after CLOSE_TIMEOUT_SECONDS and ignoring errors (e.g. broker down)."""
    if resource is None:
        return
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
            await resource.close()


async def cancel_quietly(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait for it to finish, whatever it ends with."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def finish_or_cancel(tasks: Iterable[asyncio.Task[Any]], *, grace_seconds: float) -> int:
    """Let the tasks finish for up to `grace_seconds`, then cancel those still running and wait for
    them to end; returns how many were cancelled."""
    running = set(tasks)
    if not running:
        return 0
    _, late = await asyncio.wait(running, timeout=grace_seconds)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    return len(late)
