"""Handoff metrics (Prometheus, served on /metrics)."""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import Gauge, Histogram

from flowpilot_shared.db import Database
from flowpilot_shared.models import AWAITING_PICKUP

log = structlog.get_logger(__name__)

TIME_TO_PICKUP = Histogram(
    "flowpilot_time_to_pickup_seconds",
    "Time an escalation waited in the queue (since escalated or released) until a senior claimed it",
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400),
)
PAST_LAST_ROUND = Gauge(
    "flowpilot_escalations_past_last_round",
    "Escalations still waiting for a senior after their policy's final notice (every account; "
    "refreshed by each handoff-api process)",
)
PAST_LAST_ROUND_SECONDS = 30.0
# Waiting escalations whose timer is gone: the final notice ends the timer, while a claim, a resolve
# or a newer handoff ends the wait itself. Walks the open-escalations partial index only, so it
# costs the same however many escalations were ever made; nothing is added to the handoff itself.
# $1 statuses awaiting pickup
PAST_LAST_ROUND_SQL = """
SELECT count(*) FROM handoffs h
JOIN ai_sessions s ON s.id = h.session_id
WHERE h.intent = 'escalate' AND h.claimed_at IS NULL AND s.status = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM escalation_timers t WHERE t.session_id = h.session_id)
  AND NOT EXISTS (SELECT 1 FROM handoffs n WHERE n.session_id = h.session_id AND n.created_at > h.created_at)
"""
_AWAITING = sorted(str(status) for status in AWAITING_PICKUP)


async def refresh_past_last_round(db: Database) -> None:
    """Count the escalations past their last round into the gauge."""
    async with db.driver() as conn:
        PAST_LAST_ROUND.set(await conn.fetchval(PAST_LAST_ROUND_SQL, _AWAITING))


async def watch_past_last_round(db: Database) -> None:
    """Refresh the gauge every PAST_LAST_ROUND_SECONDS until cancelled (a failed query keeps the last value)."""
    while True:
        try:
            await refresh_past_last_round(db)
        except Exception as exc:  # database down: the next pass tries again
            log.debug("past-last-round gauge not refreshed", error=str(exc)[:300])
        await asyncio.sleep(PAST_LAST_ROUND_SECONDS)
