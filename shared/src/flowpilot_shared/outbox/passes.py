"""One relay pass's rows on their way to the broker, and the rows still waiting for their confirms.

A quorum queue confirms once its log is on disk (tens of ms, hundreds when the disk is slow), and
every event committed meanwhile would wait for that too, although the broker had already routed the
earlier ones to their consumers. So once a pass is late (`OVERLAP_AFTER_SECONDS` in relay.py) the
relay reads and publishes the next rows beside it. Session order still holds: a row whose session
has a row in flight waits for the pass carrying it, so a session's later event is never published
after an earlier one the broker refused.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import asyncpg
from prometheus_client import Counter, Histogram

from flowpilot_shared.broker.publisher import Publisher, build_message
from flowpilot_shared.outbox.pending import PoisonRow
from flowpilot_shared.telemetry import publishing

PUBLISHED = Counter("flowpilot_outbox_published_total", "Outbox events published", ["routing_key"])
PUBLISH_FAILURES = Counter("flowpilot_outbox_publish_failures_total", "Outbox publish attempts that failed")
LAG = Histogram(
    "flowpilot_outbox_lag_seconds",
    "Commit to confirmed publish",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


class HeldBack(Exception):
    """Not tried: an earlier row of its session failed in this pass, and it waits for that row."""


async def publish_in_session_order(
    publisher: Publisher, rows: Sequence[asyncpg.Record], *, max_payload_bytes: int
) -> list[BaseException | None]:
    """Publish many rows at once, but one session's rows one after another, in commit order.

    A consumer must never see `handoff.claimed` before the `handoff.escalated` it answers; rows
    of different sessions carry no such order, so they go out concurrently. After a failure the
    rest of that session's rows are `HeldBack` and wait for that row.
    """
    results: list[BaseException | None] = [None] * len(rows)
    chains: dict[object, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        chains[row["session_id"] or row["id"]].append(index)

    async def publish_chain(indexes: list[int]) -> None:
        for position, index in enumerate(indexes):
            try:
                await publish_row(publisher, rows[index], max_payload_bytes=max_payload_bytes)
            except Exception as exc:
                results[index] = exc
                for later in indexes[position + 1 :]:
                    results[later] = HeldBack()
                return

    await asyncio.gather(*(publish_chain(indexes) for indexes in chains.values()))
    return results


async def publish_row(publisher: Publisher, row: asyncpg.Record, *, max_payload_bytes: int) -> None:
    """Publish one outbox row as it was committed, and wait for the broker's confirm.

    A row over `max_payload_bytes` is never sent: the broker would close the channel on it (its
    max message size) at every attempt.
    """
    body = row["payload"].encode()
    if len(body) > max_payload_bytes:
        raise PoisonRow(f"payload of {len(body)} bytes is over the limit of {max_payload_bytes}")
    headers = {"x-position": f"{row['txid']}.{row['seq']}"}
    with publishing(row, headers):  # the row's trace and request id go on in the headers
        message = build_message(
            event_id=str(row["id"]), event_type=row["routing_key"], body=body, headers=headers
        )
        await publisher.publish(row["exchange"], row["routing_key"], message)


class InFlight:
    """Rows published and not yet marked, and their sessions."""

    def __init__(self) -> None:
        self.ids: set[uuid.UUID] = set()
        self.sessions: set[uuid.UUID] = set()
        # A row was left for later because its session was in flight: read again once a pass ends.
        self.deferred = False

    def take(self, rows: Sequence[asyncpg.Record]) -> list[asyncpg.Record]:
        """The rows that may go now (their session has nothing in flight), counted as in flight."""
        ready = []
        for row in rows:  # read without the rows in flight (SELECT_PENDING's $2)
            if row["session_id"] is not None and row["session_id"] in self.sessions:
                self.deferred = True
                continue
            ready.append(row)
        for row in ready:
            self.ids.add(row["id"])
            if row["session_id"] is not None:
                self.sessions.add(row["session_id"])
        return ready

    def release(self, rows: Sequence[asyncpg.Record]) -> bool:
        """The pass carrying `rows` is over; returns whether rows were left waiting for it."""
        for row in rows:
            self.ids.discard(row["id"])
            if row["session_id"] is not None:
                self.sessions.discard(row["session_id"])
        deferred, self.deferred = self.deferred, False
        return deferred


def count_outcomes(
    rows: Sequence[asyncpg.Record], results: Sequence[BaseException | None], now: datetime
) -> None:
    """The metrics of a pass: rows published (and their lag from commit), rows that failed."""
    for row, result in zip(rows, results, strict=True):
        if result is None:
            PUBLISHED.labels(row["routing_key"]).inc()
            LAG.observe(max((now - row["created_at"]).total_seconds(), 0.0))
        elif not isinstance(result, HeldBack):
            PUBLISH_FAILURES.inc()
