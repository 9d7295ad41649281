"""Counting what escalations caused (rows the consumers commit) and waiting until all of it exists."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from benchmarks.stack import Stack

# What one untargeted escalation of a team with three seniors and Slack + ConnectWise must cause.
COUNTS = {
    "bell": "SELECT count(*) FROM notifications WHERE handoff_id = ANY($1::uuid[])",
    "email": "SELECT count(*) FROM deliveries WHERE channel = 'email' AND status = 'sent' AND handoff_id = ANY($1::uuid[])",
    # SMTP messages that carried them: the first attempt's, shared by an escalation's recipients (one
    # Message-ID per event), and each retry's, sent to its one recipient alone.
    "email_messages": "SELECT count(DISTINCT external_id) FILTER (WHERE attempts = 1) + count(*) FILTER (WHERE attempts > 1) FROM deliveries WHERE channel = 'email' AND status = 'sent' AND handoff_id = ANY($1::uuid[])",
    "slack": "SELECT count(*) FROM deliveries WHERE channel = 'slack' AND status = 'sent' AND handoff_id = ANY($1::uuid[])",
    "documentation": "SELECT count(*) FROM documentation WHERE handoff_id = ANY($1::uuid[])",
    "psa_note": "SELECT count(*) FROM psa_pushes WHERE status = 'pushed' AND handoff_id = ANY($1::uuid[])",
}
PER_ESCALATION = {"bell": 3, "email": 3, "slack": 1, "documentation": 1, "psa_note": 1}
UNPUBLISHED = "SELECT count(*) FROM outbox WHERE published_at IS NULL"


async def count_effects(conn: asyncpg.Connection, handoff_ids: Sequence[uuid.UUID]) -> dict[str, int]:
    """How many of each effect exist for these handoffs."""
    ids = list(handoff_ids)
    return {name: int(await conn.fetchval(sql, ids)) for name, sql in COUNTS.items()}


async def wait_drained(
    stack: Stack,
    handoff_ids: Sequence[uuid.UUID],
    *,
    timeout: float,
    per_escalation: dict[str, int] | None = None,
    interval: float = 0.25,
) -> dict[str, Any]:
    """Poll until every effect exists, every queue is empty and the outbox is published (or time out).

    `effects_seconds` is when every effect was first seen (polled every `interval`), before the
    slower queue-depth check that confirms nothing else is left.
    """
    want = {k: v * len(handoff_ids) for k, v in (per_escalation or PER_ESCALATION).items()}
    started = time.perf_counter()
    conn = await asyncpg.connect(stack.dsn)
    counts: dict[str, int] = {}
    depths: dict[str, int] = {}
    unpublished = -1
    effects_seconds: float | None = None
    try:
        while True:
            counts = await count_effects(conn, handoff_ids)
            if effects_seconds is None and all(counts[k] >= want[k] for k in want):
                effects_seconds = time.perf_counter() - started
            unpublished = int(await conn.fetchval(UNPUBLISHED))
            complete = all(counts[k] >= want[k] for k in want) and unpublished == 0
            if complete:
                depths = await stack.queue_depths()
                if all(d <= 0 for d in depths.values()):
                    break
            if time.perf_counter() - started > timeout:
                depths = await stack.queue_depths()
                break
            await asyncio.sleep(interval)
    finally:
        await conn.close()
    drained = (
        all(counts.get(k, 0) >= want[k] for k in want)
        and unpublished == 0
        and all(d <= 0 for d in depths.values())
    )
    return {
        "drained": drained,
        "drain_seconds": round(time.perf_counter() - started, 2),
        "effects_seconds": None if effects_seconds is None else round(effects_seconds, 3),
        "effects": counts,
        "expected": want,
        "duplicates": {k: max(counts.get(k, 0) - want[k], 0) for k in want},
        "queue_depths": depths,
        "outbox_unpublished": unpublished,
    }
