"""The active relay's PostgreSQL connection: how it is set up, and the lock that makes it the one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping

import asyncpg

from flowpilot_shared.db import asyncpg_dsn
from flowpilot_shared.outbox.partitions import DEFAULT_LOCK_KEY

# How soon a standby notices that the active relay is gone.
STANDBY_POLL_SECONDS = 0.5
# How often the active relay looks whether its connection closed without telling (see `until_closed`).
CLOSED_CHECK_SECONDS = 1.0
SERVER_SETTINGS = {
    # Plan each pass for the table as it is now: a generic plan made while the outbox was small (a
    # seq scan) was kept as it grew when no ANALYZE came to invalidate it (autovacuum off or
    # behind), reading every retained row ~100 times a second.
    "plan_cache_mode": "force_custom_plan",
    # Walk the pending index itself, never a bitmap of it: the index keeps an entry for every row
    # published since the last vacuum, and only a plain index scan marks those dead as it passes (a
    # bitmap scan visits each one's heap page on every pass).
    "enable_bitmapscan": "off",
    # Its writes (rows marked published, a refused row's retry time) need not wait for the disk: one
    # lost in a PostgreSQL crash only publishes its rows again, which the consumers' inboxes absorb.
    # Waiting held up the relay for as long as each flush took (hundreds of ms when the disk is slow).
    "synchronous_commit": "off",
}


async def connect_when_active(
    database_url: str, *, lock_key: int = DEFAULT_LOCK_KEY, server_settings: dict[str, str] | None = None
) -> asyncpg.Connection:
    """A connection of the relay's own, returned once it holds the active-relay lock `lock_key` (its
    partition's)."""
    conn = await asyncpg.connect(
        asyncpg_dsn(database_url), server_settings={**(server_settings or {}), **SERVER_SETTINGS}
    )
    try:
        await _acquire_active_lock(conn, lock_key)
    except BaseException:
        await conn.close()
        raise
    return conn


async def _acquire_active_lock(conn: asyncpg.Connection, lock_key: int) -> None:
    """Return once this connection holds the active-relay lock; a standby asks again every poll.

    Not a blocking pg_advisory_lock: a statement waiting on a lock keeps its snapshot, and a
    standby's would have held back the whole database's xmin horizon for as long as the active
    relay lived, so that neither VACUUM nor index scans could drop any row dead since.
    """
    while True:
        if await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock_key):
            return
        await asyncio.sleep(STANDBY_POLL_SECONDS)


async def until_closed(conn: asyncpg.Connection) -> None:
    """Wait until the connection terminates (server restart, network loss).

    asyncpg calls termination listeners only when it was not closing the connection already, and a
    PostgreSQL restart under load was seen to leave an active relay on a closed connection for good
    (every pass "connection is closed", no standby taking over): so look at the connection too.
    """
    lost = asyncio.Event()
    conn.add_termination_listener(lambda *_: lost.set())
    while not conn.is_closed():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(lost.wait(), timeout=CLOSED_CHECK_SECONDS)


async def listen(conn: asyncpg.Connection, callbacks: Mapping[str, Callable[[], None]]) -> None:
    """LISTEN on each channel, calling its callback on each NOTIFY.

    PostgreSQL wakes every listening backend of the database on every NOTIFY, whatever the channel,
    and each wake-up is a transaction of that backend's: one LISTEN connection per process, never one
    per use, keeps an outbox wake-up from costing a transaction per listener in the whole system.
    """
    for channel, callback in callbacks.items():
        await conn.add_listener(channel, lambda *_, call=callback: call())
