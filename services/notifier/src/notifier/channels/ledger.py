"""The delivery ledger: a row per (event, channel, recipient), claimed before the external call.

Each step commits on its own (never inside the consumer's inbox transaction), so what happened
outside survives a crash. The one-statement steps are plain driver-level statements without a
transaction block (`Database.driver`): one round trip and a fifth of the CPU of the same statement
through the ORM. Every target of an event gets its row in one statement (`insert_rows`), then each
send records its own outcome. Row states: `pending` while a call is in flight (or just
claimed), `retrying` after a transient failure (nothing in flight), then `sent`, `failed` or `skipped`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import asyncpg
from sqlalchemy import func, select

from flowpilot_shared.db import database_unavailable
from flowpilot_shared.events import AnyEvent
from flowpilot_shared.models.notifications import Delivery, DeliveryStatus
from flowpilot_shared.unit_of_work import OrmUnitOfWork

CRASHED_IN_FLIGHT = "outcome unknown after crash; not resent to avoid a duplicate"
ERROR_LIMIT = 1000
# How long recording a call's outcome waits for an unreachable database before giving up.
OUTCOME_PATIENCE_SECONDS = 60.0
FINAL = (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.skipped)

UowFactory = Callable[[], OrmUnitOfWork]
# A pooled driver-level connection (`Database.driver`).
Connect = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]

# One row per target (one array per column), those that already exist left alone.
INSERT_ROWS = """
INSERT INTO deliveries
  (id, account_id, session_id, handoff_id, event_id, event_type, channel, recipient, status, attempts, last_error)
SELECT r.id, $1, $2, $3, $4, $5, $6, r.recipient, r.status, r.attempts, r.error
FROM unnest($7::uuid[], $8::text[], $9::text[], $10::int[], $11::text[]) AS r(id, recipient, status, attempts, error)
ON CONFLICT (event_id, channel, recipient) DO NOTHING
RETURNING id, recipient
"""
BEGIN_ATTEMPT = """
UPDATE deliveries SET status = 'pending', attempts = attempts + 1, updated_at = now()
WHERE id = $1 AND attempts = $2 AND status IN ('pending', 'retrying')
RETURNING attempts
"""
# Outcomes of any number of rows (one array per column). NULLs keep what the row has: a `sent`
# row keeps the error of its last failed attempt.
RECORD_OUTCOMES = """
UPDATE deliveries AS d
SET status = o.status, last_error = coalesce(o.error, d.last_error),
    external_id = coalesce(o.external_id, d.external_id), updated_at = now()
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS o(id, status, error, external_id)
WHERE d.id = o.id
"""
REOPEN_FAILED = """
UPDATE deliveries SET status = 'retrying', attempts = 0, updated_at = now()
WHERE event_id = $1 AND channel = $2 AND status = 'failed' AND last_error IS DISTINCT FROM $3
"""


@dataclass(frozen=True)
class Claim:
    """A ledger row this processing may send for; `attempts` made so far."""

    delivery_id: uuid.UUID
    attempts: int
    # A fresh row is claimed with its first attempt already marked in flight (one commit, not two).
    in_flight: bool = False
    # A crash cut the row's last call off: whether it got through is found out before sending again.
    cut_off: bool = False


@dataclass(frozen=True)
class StillInFlight:
    """A `pending` row whose call may still be running in another processing of the event (a
    duplicate delivery): judge it again after `seconds`, once that call must have ended."""

    seconds: float


def reuse(conn: asyncpg.Connection) -> Connect:
    """A `Connect` that hands out `conn` itself (a step joining the caller's open transaction)."""

    @contextlib.asynccontextmanager
    async def same() -> AsyncIterator[asyncpg.Connection]:
        yield conn

    return same


def _handoff_id(event: AnyEvent) -> uuid.UUID | None:
    return getattr(event.data, "handoff_id", None)


async def insert_rows(
    connect: Connect,
    *,
    event: AnyEvent,
    channel: str,
    rows: Sequence[tuple[str, str | None]],
) -> dict[str, uuid.UUID]:
    """Insert the ledger rows of `rows` (recipient, skip reason or None) in one statement.

    A recipient to send to gets a `pending` row with its first attempt in flight (the call may start
    at once, one commit in all); a skipped one a visible `skipped` row with the reason. Returns the
    ids of the rows this call created, by recipient: the others already existed (a redelivery).
    """
    if not rows:
        return {}
    skipped = [reason is not None for _, reason in rows]
    args = (
        event.account_id,
        event.session_id,
        _handoff_id(event),
        event.id,
        event.type,
        channel,
        [uuid.uuid4() for _ in rows],
        [recipient for recipient, _ in rows],
        [(DeliveryStatus.skipped if skip else DeliveryStatus.pending).value for skip in skipped],
        [0 if skip else 1 for skip in skipped],
        [None if reason is None else reason[:ERROR_LIMIT] for _, reason in rows],
    )
    async with connect() as conn:
        created = await conn.fetch(INSERT_ROWS, *args)
    return {row["recipient"]: row["id"] for row in created}


async def claim(
    new_uow: UowFactory,
    *,
    event: AnyEvent,
    channel: str,
    recipient: str,
    connect: Connect,
    created: Mapping[str, uuid.UUID] | None = None,
    cut_off_after: float | None = None,
) -> Claim | StillInFlight | None:
    """Claim the row before any call; None when this (event, channel, recipient) must not be sent now.

    `created` holds the rows `insert_rows` just made for the event (inserted here when not given): a
    new row is claimed with attempt 1 in flight. A `retrying` row carries on where it stopped (its
    next attempt not begun). A row left `pending` by a crashed attempt may or may not have gone out:
    on a channel that can find out (`cut_off_after`: how long a call can run, at most), it is claimed
    `cut_off` once it has been still that long, and `StillInFlight` before; on any other it is
    marked `failed` rather than resent. Judging an existing row (a redelivery, rare) takes a locking
    read and a write, in a transaction from `new_uow`.
    """
    if created is None:
        created = await insert_rows(connect, event=event, channel=channel, rows=[(recipient, None)])
    new_id = created.get(recipient)
    if new_id is not None:
        return Claim(delivery_id=new_id, attempts=1, in_flight=True)
    async with new_uow() as uow:
        existing, still_seconds = (
            await uow.session.execute(
                select(Delivery, func.extract("epoch", func.now() - Delivery.updated_at))
                .where(
                    Delivery.event_id == event.id,
                    Delivery.channel == channel,
                    Delivery.recipient == recipient,
                )
                .with_for_update(of=Delivery)
            )
        ).one()
        if existing.status == DeliveryStatus.retrying:
            return Claim(delivery_id=existing.id, attempts=existing.attempts)
        if existing.status != DeliveryStatus.pending:
            return None
        if cut_off_after is not None:
            if float(still_seconds) < cut_off_after:
                return StillInFlight(seconds=cut_off_after - float(still_seconds))
            return Claim(delivery_id=existing.id, attempts=existing.attempts, cut_off=True)
        existing.status = DeliveryStatus.failed
        existing.last_error = CRASHED_IN_FLIGHT
        await uow.commit()
        return None


async def begin_attempt(connect: Connect, delivery_id: uuid.UUID, *, after: int) -> int | None:
    """Mark a call in flight (`pending`, attempts + 1) and commit before the call is made.

    Compare-and-set on `after` (the attempts this processing knows of): None when another
    processing (a redelivery elsewhere) has moved the row on, so two never send at once.
    """
    async with connect() as conn:
        attempts = await conn.fetchval(BEGIN_ATTEMPT, delivery_id, after)
    return None if attempts is None else int(attempts)


Outcome = tuple[uuid.UUID, str, str | None, str | None]


def outcome(
    delivery_id: uuid.UUID,
    *,
    status: DeliveryStatus,
    error: str | None = None,
    external_id: str | None = None,
) -> Outcome:
    """What a call did, as `record_outcomes` writes it."""
    return (
        delivery_id,
        status.value,
        None if error is None else error[:ERROR_LIMIT],
        None if external_id is None else external_id[:300],
    )


async def record_outcomes(connect: Connect, outcomes: Sequence[Outcome]) -> None:
    """Record what calls did: `sent` (with the channel's id), `retrying` or `failed` (with why)."""
    columns = [list(column) for column in zip(*outcomes, strict=True)]
    # The calls have been made: losing their outcome to a database blip would leave the rows
    # `pending`, and the redelivery would then record sent messages as failed. Wait for the database.
    deadline = time.monotonic() + OUTCOME_PATIENCE_SECONDS
    delay = 0.1
    while True:
        try:
            async with connect() as conn:
                await conn.execute(RECORD_OUTCOMES, *columns)
            return
        except Exception as exc:
            if not database_unavailable(exc) or time.monotonic() + delay > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def record_outcome(
    connect: Connect,
    delivery_id: uuid.UUID,
    *,
    status: DeliveryStatus,
    error: str | None = None,
    external_id: str | None = None,
) -> None:
    """Record what one call did (see `record_outcomes`)."""
    await record_outcomes(
        connect, [outcome(delivery_id, status=status, error=error, external_id=external_id)]
    )


async def reopen_failed(connect: Connect, event_id: uuid.UUID, channel: str) -> int:
    """For a deliberate replay: let definitively failed rows of an event be tried again.

    Rows failed by a crash mid-call are left alone (the message may have gone out).
    """
    async with connect() as conn:
        status = await conn.execute(REOPEN_FAILED, event_id, channel, CRASHED_IN_FLIGHT)
    return int(status.rsplit(" ", 1)[-1])
