"""What PostgreSQL did for a run, from its own counters: commits, WAL flushes and rows written.

The counters show where the database's share of an escalation's cost comes from (how many
transactions and disk flushes one escalation takes), which the CPU figures alone do not.
"""

from __future__ import annotations

import asyncio

import asyncpg

# A backend reports its counters when it goes idle, at most once a second, and an idle pooled
# connection holds the rest for up to ten: a snapshot taken this long after the work is complete.
SETTLE_SECONDS = 11.0
COUNTERS = """
SELECT d.xact_commit AS commits, d.tup_inserted AS rows_inserted, d.tup_updated AS rows_updated,
       w.wal_sync AS wal_flushes, w.wal_bytes AS wal_bytes,
       (SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'outbox') AS outbox_rows
FROM pg_stat_database d, pg_stat_wal w
WHERE d.datname = current_database()
"""


async def counters(dsn: str) -> dict[str, float]:
    """The database's cumulative counters (WAL ones are the whole server's), once reported."""
    await asyncio.sleep(SETTLE_SECONDS)
    # A new connection each time: a connection keeps its first view of the statistics.
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(COUNTERS)
    finally:
        await conn.close()
    return {key: float(value or 0) for key, value in row.items()}


def per_escalation(before: dict[str, float], after: dict[str, float], escalations: int) -> dict[str, float]:
    """The counters' growth between two snapshots, divided by the escalations in between."""
    count = max(escalations, 1)
    return {key: round((after[key] - before[key]) / count, 2) for key in before}
