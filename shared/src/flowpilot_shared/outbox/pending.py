"""Which outbox rows a relay pass reads, and how a row the broker refused is put back.

A row the broker refuses on its own account (returned as unroutable, nacked, or its publish closed
the channel for a missing exchange or an oversized body) is retried on its own schedule
(`retry_at`, exponential up to ROW_RETRY_MAX_SECONDS), and until then its session's later rows
wait with it, so session order holds. The other sessions' rows go on being published: one such
row no longer backs the whole relay off. Failures that are not the row's own (the broker or the
connection down, a timeout) leave `retry_at` alone: the relay backs off as a whole for those.
"""

from __future__ import annotations

import asyncpg
from aio_pika.exceptions import (
    ChannelNotFoundEntity,
    ChannelPreconditionFailed,
    DeliveryError,
)
from aiormq.exceptions import ChannelAccessRefused

from flowpilot_shared.retry import backoff_seconds

ROW_RETRY_BASE_SECONDS = 0.5
ROW_RETRY_MAX_SECONDS = 60.0
# The broker's answer about this one message, not about the broker or the connection.
ROW_FAULTS: tuple[type[BaseException], ...] = (
    DeliveryError,
    ChannelNotFoundEntity,
    ChannelPreconditionFailed,
    ChannelAccessRefused,
)

# What publishing a row needs; the payload as PostgreSQL's own JSON text, published as is. A row
# waiting out its retry holds back its session's later rows (ix_outbox_deferred finds them). $2: the
# rows of earlier passes still waiting for their confirms.
SELECT_PENDING = """
SELECT id, seq, txid, exchange, routing_key, session_id, payload::text AS payload, created_at, attempts,
  now() AS read_at
FROM outbox AS o
WHERE published_at IS NULL AND (retry_at IS NULL OR retry_at <= now())
  AND NOT o.id = ANY($2::uuid[])
  AND NOT EXISTS (
    SELECT 1 FROM outbox AS d
    WHERE d.session_id = o.session_id AND d.published_at IS NULL AND d.retry_at > now()
  )
ORDER BY seq LIMIT $1
"""
# Both times on the database's clock, so the relay's host clock (and a failover to another host)
# never puts them out of order. $1: the pass's `read_at`.
MARK_PUBLISHED = "UPDATE outbox SET published_at = now(), publish_started_at = $1 WHERE id = ANY($2::uuid[])"
RECORD_FAILURES = """
UPDATE outbox SET attempts = outbox.attempts + 1, last_error = f.error,
    retry_at = now() + f.delay * interval '1 second'
FROM unnest($1::uuid[], $2::text[], $3::float8[]) AS f(id, error, delay) WHERE outbox.id = f.id
"""


def retry_delay(error: BaseException, attempts_before: int) -> float | None:
    """Seconds until a refused row is tried again; None when the failure was not the row's own."""
    if not isinstance(error, ROW_FAULTS):
        return None
    return backoff_seconds(attempts_before + 1, ROW_RETRY_BASE_SECONDS, ROW_RETRY_MAX_SECONDS, None)


async def record_failures(
    conn: asyncpg.Connection, failed: list[tuple[asyncpg.Record, BaseException]]
) -> list[str]:
    """Count the attempt and keep the error on each failed row, deferring the refused ones."""
    errors = [f"{type(error).__name__}: {error}"[:1000] for _, error in failed]
    await conn.execute(
        RECORD_FAILURES,
        [row["id"] for row, _ in failed],
        errors,
        [retry_delay(error, row["attempts"]) for row, error in failed],
    )
    return errors
