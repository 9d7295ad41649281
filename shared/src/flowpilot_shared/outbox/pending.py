"""Which outbox rows a relay pass reads, and how a row the broker refused is put back.

A row the broker refuses on its own account (returned as unroutable, nacked, or its publish closed
the channel for a missing exchange or an oversized body) is retried on its own schedule
(`retry_at`, exponential up to ROW_RETRY_MAX_SECONDS), and until then its session's later rows
wait with it, so session order holds. The other sessions' rows go on being published: one such
row no longer backs the whole relay off. Failures that are not the row's own (the broker or the
connection down, a timeout) leave `retry_at` alone: the relay backs off as a whole for those.

A row that can never go out must not wait forever, nor hold its session back forever: one larger than
the relay may publish (`PoisonRow`, never sent), or one the broker refused `outbox_row_max_attempts`
times, is set aside as dead (`dead_at`). Its session's later rows then go on; the dead row stays
visible (`flowpilot-admin outbox list`, the `flowpilot_outbox_dead_rows` gauge) until an operator has it
tried again.
"""

from __future__ import annotations

import asyncpg
import structlog
from aio_pika.exceptions import (
    ChannelNotFoundEntity,
    ChannelPreconditionFailed,
    DeliveryError,
)
from aiormq.exceptions import ChannelAccessRefused
from prometheus_client import Counter

from flowpilot_shared.retry import backoff_seconds

log = structlog.get_logger(__name__)

DEAD = Counter(
    "flowpilot_outbox_dead_total",
    "Outbox rows set aside as dead (never published; `flowpilot-admin outbox list --dead`)",
    ["routing_key"],
)
ROW_RETRY_BASE_SECONDS = 0.5
ROW_RETRY_MAX_SECONDS = 60.0
# The broker's answer about this one message, not about the broker or the connection.


class PoisonRow(Exception):
    """The row itself can never be published (too large): set aside as dead at once, never sent."""


ROW_FAULTS: tuple[type[BaseException], ...] = (
    DeliveryError,
    ChannelNotFoundEntity,
    ChannelPreconditionFailed,
    ChannelAccessRefused,
)

# What publishing a row needs; the payload as PostgreSQL's own JSON text, published as is. A row
# waiting out its retry holds back its session's later rows (ix_outbox_deferred finds them). $2: the
# rows of earlier passes still waiting for their confirms. $3 and $4: the relay's partition, its
# types and whether it takes every type but those (`partitions.Partition`).
SELECT_PENDING = """
SELECT id, seq, txid, exchange, routing_key, session_id, payload::text AS payload, created_at, attempts,
  traceparent, request_id, now() AS read_at
FROM outbox AS o
WHERE published_at IS NULL AND dead_at IS NULL AND (retry_at IS NULL OR retry_at <= now())
  AND NOT o.id = ANY($2::uuid[])
  AND (o.routing_key = ANY($3::text[])) <> $4::boolean
  AND NOT EXISTS (
    SELECT 1 FROM outbox AS d
    WHERE d.session_id = o.session_id AND d.published_at IS NULL AND d.retry_at > now()
  )
ORDER BY seq LIMIT $1
"""
# A dead row waits for nothing (no `retry_at`), so it holds back none of its session's later rows.
RECORD_FAILURES = """
UPDATE outbox SET attempts = outbox.attempts + 1, last_error = f.error,
    retry_at = CASE WHEN f.dead THEN NULL ELSE now() + f.delay * interval '1 second' END,
    dead_at = CASE WHEN f.dead THEN now() END
FROM unnest($1::uuid[], $2::text[], $3::float8[], $4::boolean[]) AS f(id, error, delay, dead)
WHERE outbox.id = f.id
"""


def retry_delay(error: BaseException, attempts_before: int) -> float | None:
    """Seconds until a refused row is tried again; None when the failure was not the row's own."""
    if not isinstance(error, ROW_FAULTS):
        return None
    return backoff_seconds(attempts_before + 1, ROW_RETRY_BASE_SECONDS, ROW_RETRY_MAX_SECONDS, None)


def is_dead(error: BaseException, attempts_before: int, max_attempts: int) -> bool:
    """Whether this failure sets the row aside: a poison row, or the row's own fault once too often."""
    if isinstance(error, PoisonRow):
        return True
    return isinstance(error, ROW_FAULTS) and attempts_before + 1 >= max_attempts


async def record_failures(
    conn: asyncpg.Connection, failed: list[tuple[asyncpg.Record, BaseException]], *, max_attempts: int
) -> list[str]:
    """Count the attempt and keep the error on each failed row, deferring the refused ones and
    setting aside the dead ones (counted, logged); returns the errors."""
    errors = [f"{type(error).__name__}: {error}"[:1000] for _, error in failed]
    dead = [is_dead(error, row["attempts"], max_attempts) for row, error in failed]
    await conn.execute(
        RECORD_FAILURES,
        [row["id"] for row, _ in failed],
        errors,
        [retry_delay(error, row["attempts"]) for row, error in failed],
        dead,
    )
    for (row, _), error, gone in zip(failed, errors, dead, strict=True):
        if gone:
            DEAD.labels(row["routing_key"]).inc()
            log.error("outbox row set aside as dead", event_id=str(row["id"]), error=error)
    return errors
