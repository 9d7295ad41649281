"""The timer loop every handoff-api replica runs: fire what is due, then sleep until the next due time.

Idle, it costs one indexed query per wake-up however many escalations wait: it sleeps until the
earliest due time, but never longer than the shortest interval any account uses (a timer started
meanwhile, by an escalation or a release on any replica, is due no sooner than that) nor
`timer_max_sleep_seconds`. A policy change NOTIFYs the timer loops (it can bring due times forward):
the NOTIFY is heard on the connection of the process' outbox relay, and only while that relay is the
active one (every LISTEN connection costs PostgreSQL a transaction on each NOTIFY of the database, the
outbox's wake-ups included). That replica's loop fires every account's due timers; the others plan
again within their sleep.
Due times are on the database's clock, so replicas' clocks never matter; a timer that fell due while
every replica was down fires once at the next start (late, never lost, no burst of missed rounds).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog
from prometheus_client import Counter

from flowpilot_shared.closing import cancel_quietly
from flowpilot_shared.db import Database, asyncpg_dsn
from flowpilot_shared.outbox.relay import OutboxRelay
from handoff_api.policy.sql import TIMERS_CHANNEL
from handoff_api.reescalation import sql
from handoff_api.reescalation.firing import fire_due
from handoff_api.settings import ApiSettings

log = structlog.get_logger(__name__)

WAKEUPS = Counter("flowpilot_reescalation_timer_wakeups_total", "Passes of the re-escalation timer loop")
# A due timer another replica holds right now: look again shortly rather than spin or sleep long.
HELD_ELSEWHERE_SECONDS = 0.2
RECONNECT_MAX_SECONDS = 10.0


class ReescalationTimers:
    """Background task owning one PostgreSQL connection (firing; LISTEN too where there is no relay)."""

    def __init__(self, *, db: Database, settings: ApiSettings, relay: OutboxRelay | None) -> None:
        self._db = db
        self._relay = relay
        self._settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the loop in the background (a database that is down is waited for)."""
        if self._settings.reescalation_timers:
            if self._relay is not None:
                await self._relay.listen_also(TIMERS_CHANNEL, self.wake)
            self._task = asyncio.create_task(self._run(), name="reescalation-timers")

    async def stop(self) -> None:
        """Stop at once: a firing in progress rolls back and its timers stay due for the next start."""
        await cancel_quietly(self._task)
        self._task = None

    def wake(self) -> None:
        """Plan again now (a NOTIFY, a lost connection)."""
        self._wake.set()

    async def _run(self) -> None:
        delay = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(asyncpg_dsn(self._settings.database_url))
                conn.add_termination_listener(lambda *_: self.wake())
                if self._relay is None:  # a process without a relay hears policy changes itself
                    await conn.add_listener(TIMERS_CHANNEL, lambda *_: self.wake())
                delay = 0.5
                await self._serve(conn)
            except Exception as exc:  # database down or restarting: the timers wait in their table
                log.warning("re-escalation timers paused", error=f"{type(exc).__name__}: {exc}"[:300])
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=2.0)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def _serve(self, conn: asyncpg.Connection) -> None:
        batch = self._settings.timer_batch_size
        while not conn.is_closed():
            WAKEUPS.inc()
            self._wake.clear()  # before the pass: a NOTIFY during it plans again at once
            taken, awaited = await fire_due(conn, limit=batch)
            if awaited:
                self._db.outbox_waker.poke()
            if taken >= batch:
                continue  # more are due
            sleep_for = await self._sleep_for(conn)  # first: if it raises, no wait() is left un-awaited
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=sleep_for)
        raise ConnectionError("timer connection closed")

    async def _sleep_for(self, conn: asyncpg.Connection) -> float:
        row = await conn.fetchrow(sql.NEXT_WAKE)
        due_in, shortest = row["due_in"], row["shortest_interval"]
        if due_in is not None and due_in <= 0:
            return HELD_ELSEWHERE_SECONDS
        candidates = [self._settings.timer_max_sleep_seconds, shortest]
        if due_in is not None:
            candidates.append(due_in)
        return max(min(candidates), 0.01)
