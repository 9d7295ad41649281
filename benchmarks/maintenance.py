"""What autovacuum would do: this box's PostgreSQL runs with it off, a production server would not.

Without it, every table the pipeline writes keeps its dead rows and its first statistics for the
whole run: the statements' cached plans, made while the tables were empty, stay sequential scans as
the tables grow (a delivery-ledger UPDATE by id became a scan of every delivery), and numbers get
worse the longer a run lasts. The stand-in vacuums and analyzes the tables autovacuum would (its
default thresholds and throttle), checking every 15 s rather than every minute because the runs are
short; its CPU counts in PostgreSQL's share like autovacuum's would.
"""

from __future__ import annotations

import asyncio

import asyncpg

from flowpilot_shared.closing import cancel_quietly

STAND_IN_SECONDS = 15.0
# The tables autovacuum would take on now, by its default thresholds: vacuum once dead rows pass
# 50 + 20% of the table, analyze once changes since the last analyze pass 50 + 10%.
DUE = """
SELECT relname, n_dead_tup > 50 + 0.2 * greatest(n_live_tup, 0) AS vacuum
FROM pg_stat_user_tables
WHERE n_dead_tup > 50 + 0.2 * greatest(n_live_tup, 0) OR n_mod_since_analyze > 50 + 0.1 * greatest(n_live_tup, 0)
"""


async def vacuum_analyze(dsn: str) -> None:
    """Vacuum and analyze the whole database once (statistics, visibility map, dead rows), then
    checkpoint, so the seeding's and the last phase's dirty pages are not written out during the
    next phase (a checkpoint spreads its writes, and the commits of the phase wait behind them)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM ANALYZE")
        try:
            await conn.execute("CHECKPOINT")
        except asyncpg.InsufficientPrivilegeError:
            print("  no CHECKPOINT (needs superuser or pg_checkpoint); measuring on", flush=True)
    finally:
        await conn.close()


class AutovacuumStandIn:
    """Autovacuum's work, done from here while the server's own autovacuum is off."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> bool:
        """Start passes unless the server runs autovacuum itself; returns whether it started."""
        conn = await asyncpg.connect(self._dsn)
        try:
            if await conn.fetchval("SELECT current_setting('autovacuum')::bool"):
                return False
        finally:
            await conn.close()
        self._task = asyncio.create_task(self._passes(), name="autovacuum-stand-in")
        return True

    async def stop(self) -> None:
        """Stop after the current pass."""
        await cancel_quietly(self._task)
        self._task = None

    async def _passes(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            # autovacuum's own throttle, so a pass competes for the CPU the way autovacuum would.
            await conn.execute("SET vacuum_cost_delay = '2ms'; SET vacuum_cost_limit = 200")
            while True:
                await asyncio.sleep(STAND_IN_SECONDS)
                try:
                    for table, vacuum in await conn.fetch(DUE):
                        await conn.execute(f'{"VACUUM ANALYZE" if vacuum else "ANALYZE"} "{table}"')
                except asyncpg.PostgresError as exc:  # a benchmark measures on; the next pass retries
                    print(f"  autovacuum stand-in pass failed: {exc}", flush=True)
        finally:
            await conn.close()
