"""Tells the active outbox relay that rows were committed, from outside the writers' transactions.

A NOTIFY inside the writing transaction made PostgreSQL serialize every such commit: it holds a
database-wide lock from just before the commit until after its WAL flush, so concurrent handoffs
committed one fsync after another, and one slow fsync stalled them all (backends queued on that
lock). Now a commit only pokes this
process' waker. If the active relay runs in this process it is woken directly; otherwise one NOTIFY
goes out in a transaction of its own with asynchronous commit (a wake-up lost in a crash costs the
relay's next poll, nothing more), at most one every 50 ms: pokes made meanwhile share the next one.
The first poke after a quiet spell is sent at once; only a process committing without pause has its
rows wait up to the interval (under load the relay's own process mostly wakes it first anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog

log = structlog.get_logger(__name__)

OUTBOX_CHANNEL = "flowpilot_outbox"
# Where a unit of work finds its process' waker: the `Session.info` key (see `Database`).
OUTBOX_WAKER = "flowpilot_outbox_waker"
WAKE_INTERVAL_SECONDS = 0.05
# One round trip; the simple-query protocol runs the whole string as given.
WAKE_SQL = f"BEGIN; SET LOCAL synchronous_commit TO off; SELECT pg_notify('{OUTBOX_CHANNEL}', ''); COMMIT"


class OutboxWaker:
    """One per process (on its `Database`): `poke()` after a commit that wrote outbox rows."""

    def __init__(self, connect: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self._connect = connect
        self._pending = False
        self._task: asyncio.Task[None] | None = None
        # The relay of this process, when it has one: wakes itself and says True if it is active.
        self._local: Callable[[], bool] | None = None

    def attach(self, wake_if_active: Callable[[], bool]) -> None:
        """Let this process' relay be woken without a round trip while it is the active one."""
        self._local = wake_if_active

    def detach(self, wake_if_active: Callable[[], bool]) -> None:
        """Forget the relay (when it stops)."""
        if self._local == wake_if_active:  # bound methods: equal, not identical
            self._local = None

    def poke(self) -> None:
        """Outbox rows were committed: make sure the active relay hears of it soon."""
        if self._local is not None and self._local():
            return
        self._pending = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._notify(), name="outbox-waker")

    async def _notify(self) -> None:
        while self._pending:
            self._pending = False
            try:
                async with self._connect() as conn:
                    await conn.execute(WAKE_SQL)
            except Exception as exc:  # the relay polls as well: the rows go out on its next pass
                log.warning("outbox wake-up not sent", error=f"{type(exc).__name__}: {exc}"[:300])
            # Commits of the next 50 ms share one wake-up (each costs a transaction).
            await asyncio.sleep(WAKE_INTERVAL_SECONDS)

    async def close(self) -> None:
        """Wait for a wake-up in flight (a process stopping right after a commit still sends it)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=5.0)
