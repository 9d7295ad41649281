"""Tells the active outbox relay that rows were committed, from outside the writers' transactions.

A NOTIFY inside the writing transaction made PostgreSQL serialize every such commit: it holds a
database-wide lock from just before the commit until after its WAL flush, so concurrent handoffs
committed one fsync after another, and one slow fsync stalled them all (backends queued on that
lock). Now a commit only pokes this process' waker. Each service's relay publishes its own service's
rows (`partitions.py`): if the process' relay is its partition's active one it is woken directly,
rows people watch live (an escalation, its claim, a bell row: `topology.Wake.SOON`) at once, the
others in one pass 50 ms after the first of them. Otherwise (a standby replica) a message on the
broker wakes the active one (`broker_wake.py`; a NOTIFY would cost a transaction in every listening
backend): the first after a quiet spell at once, then one for rows watched live within 5 ms, the
others waiting up to 50 ms for company. A process without a relay (a tool, a test) NOTIFYs every
partition's channel, in a transaction of its own with asynchronous commit (a wake-up lost in a crash
costs the relay's next poll, nothing more).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog

from flowpilot_shared.outbox.partitions import PARTITIONS

log = structlog.get_logger(__name__)

# Where a unit of work finds its process' waker: the `Session.info` key (see `Database`).
OUTBOX_WAKER = "flowpilot_outbox_waker"
# The shortest gap between two wake-ups, and how long one nobody watches live may wait for company.
WAKE_INTERVAL_SECONDS = 0.005
COALESCE_SECONDS = 0.05
# After a wake-up could not be sent, the next try waits this long (the relay's polls cover the gap).
FAILED_WAKE_PAUSE_SECONDS = 1.0


def wake_sql(channels: list[str]) -> str:
    """One round trip; the simple-query protocol runs the whole string as given."""
    notify = ", ".join(f"pg_notify('{channel}', '')" for channel in channels)
    return f"BEGIN; SET LOCAL synchronous_commit TO off; SELECT {notify}; COMMIT"


# Whom a process without a relay of its own wakes: every partition's relay.
WAKE_ALL_SQL = wake_sql([partition.channel for partition in PARTITIONS])


class OutboxWaker:
    """One per process (on its `Database`): `poke()` after a commit that wrote outbox rows."""

    def __init__(self, connect: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self._connect = connect
        self._pending = False
        # Set by a poke for rows people watch live: ends a wait for company at once.
        self._soon = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # The relay of this process, when it has one: wakes itself and says True if it is active,
        # else `_wake_active` wakes its partition's active relay through the broker.
        self._local: Callable[[bool], bool] | None = None
        self._wake_active: Callable[[], Awaitable[None]] | None = None
        self._failures = 0  # wake-ups not sent since the last one that was
        self._closing = asyncio.Event()  # ends a pause after a failure: the last try is not put off

    def attach(
        self, wake_if_active: Callable[[bool], bool], wake_active: Callable[[], Awaitable[None]]
    ) -> None:
        """Let this process' relay be woken without a round trip while it is the active one, and
        `wake_active` wake its partition's active relay while it stands by."""
        self._local = wake_if_active
        self._wake_active = wake_active

    def detach(self, wake_if_active: Callable[[bool], bool]) -> None:
        """Forget the relay (when it stops)."""
        if self._local == wake_if_active:  # bound methods: equal, not identical
            self._local = None
            self._wake_active = None

    def poke(self, *, soon: bool = True) -> None:
        """Outbox rows were committed: make sure the active relay hears of it (`soon`: within 5 ms)."""
        if self._local is not None and self._local(soon):
            return
        self._pending = True
        if soon:
            self._soon.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._notify(), name="outbox-waker")

    async def _notify(self) -> None:
        while self._pending:
            self._pending = False
            self._soon.clear()
            try:
                await self._send()
            except Exception as exc:  # the relay polls as well: the rows go out on its next pass
                if not self._failures:
                    log.warning("outbox wake-ups not sent", error=f"{type(exc).__name__}: {exc}"[:300])
                self._failures += 1
                # Not one attempt (and one log line) per commit while the broker or database is away.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), FAILED_WAKE_PAUSE_SECONDS)
                continue
            if self._failures:
                log.info("outbox wake-ups sent again", failed_meanwhile=self._failures)
                self._failures = 0
            await asyncio.sleep(WAKE_INTERVAL_SECONDS)
            if self._pending and not self._soon.is_set():
                # Only rows nobody watches live: wait for company, unless a live one comes.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._soon.wait(), COALESCE_SECONDS - WAKE_INTERVAL_SECONDS)

    async def _send(self) -> None:
        if self._wake_active is not None:
            await self._wake_active()
            return
        async with self._connect() as conn:
            await conn.execute(WAKE_ALL_SQL)

    async def close(self) -> None:
        """Wait for a wake-up in flight (a process stopping right after a commit still sends it)."""
        self._closing.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=5.0)
