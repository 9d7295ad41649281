"""What the active relay does besides publishing: the backlog gauges operators alert on, and
deleting published rows once they are past the replay retention."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from prometheus_client import Gauge
from sqlalchemy import delete, text

from flowpilot_shared.db import Database
from flowpilot_shared.models.messaging import OutboxEvent

log = structlog.get_logger(__name__)

UNPUBLISHED = Gauge(
    "flowpilot_outbox_unpublished", "Outbox rows committed and not yet published (set by the active relay)"
)
FAILING = Gauge(
    "flowpilot_outbox_failing",
    "Unpublished outbox rows with a failed publish (`flowpilot-admin outbox list`; set by the active relay)",
)
DEAD_ROWS = Gauge(
    "flowpilot_outbox_dead_rows",
    "Outbox rows set aside as dead, never published (`flowpilot-admin outbox list --dead`; set by the active relay)",
)
OLDEST_UNPUBLISHED = Gauge(
    "flowpilot_outbox_oldest_unpublished_seconds",
    "Age of the oldest outbox row not yet published, dead rows aside (0 when none; set by the active relay)",
)
GAUGE_SECONDS = 15.0
RETENTION_SWEEP_SECONDS = 60.0
# The sweep deletes a whole retention period's rows in one statement; after a backlog that can take
# longer than a request's statement_timeout, which would cut it off every time it ran.
RETENTION_SWEEP_STATEMENT_TIMEOUT = "10min"
# Walks the pending index only: cheap while the backlog is small, which is when it matters least.
BACKLOG_SQL = """
SELECT count(*) FILTER (WHERE dead_at IS NULL) AS unpublished,
       count(*) FILTER (WHERE attempts > 0 AND dead_at IS NULL) AS failing,
       count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead,
       coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE dead_at IS NULL)), 0)::float8
         AS oldest_seconds
FROM outbox WHERE published_at IS NULL
"""


async def refresh_gauges(db: Database) -> None:
    """Count the unpublished, the failing and the dead rows, and the oldest waiting one's age, into the gauges."""
    async with db.driver() as conn:
        row = await conn.fetchrow(BACKLOG_SQL)
    UNPUBLISHED.set(row["unpublished"])
    FAILING.set(row["failing"])
    DEAD_ROWS.set(row["dead"])
    # The publish-lag histogram only sees rows that got out; this one also sees a relay that is stuck.
    OLDEST_UNPUBLISHED.set(row["oldest_seconds"])


def clear_gauges() -> None:
    """A standby relay reports nothing (the active one reports for the database)."""
    UNPUBLISHED.set(0)
    FAILING.set(0)
    DEAD_ROWS.set(0)
    OLDEST_UNPUBLISHED.set(0)


async def sweep_retention(db: Database, *, hours: float) -> None:
    """Delete published rows older than the retention (they served SSE replay long enough)."""
    cutoff = datetime.now(UTC) - timedelta(hours=hours)
    async with db.sessions() as session, session.begin():
        await session.execute(text(f"SET LOCAL statement_timeout = '{RETENTION_SWEEP_STATEMENT_TIMEOUT}'"))
        await session.execute(
            delete(OutboxEvent).where(
                OutboxEvent.published_at.is_not(None), OutboxEvent.published_at < cutoff
            )
        )


async def run(
    db: Database, *, retention_hours: float, keeping: Callable[[], bool], stopping: Callable[[], bool]
) -> None:
    """While `keeping()` (the default partition's active relay): the whole table's backlog gauges
    every GAUGE_SECONDS and the retention sweep every minute (one process reports for the database)."""
    last_sweep = time.monotonic()
    while not stopping():
        await asyncio.sleep(GAUGE_SECONDS)
        if not keeping():
            clear_gauges()
            continue
        try:
            await refresh_gauges(db)
            if time.monotonic() - last_sweep >= RETENTION_SWEEP_SECONDS:
                last_sweep = time.monotonic()
                await sweep_retention(db, hours=retention_hours)
        except Exception as exc:
            log.warning("outbox housekeeping failed", error=str(exc))
