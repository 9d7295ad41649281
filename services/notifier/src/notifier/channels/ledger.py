"""The delivery ledger: a row per (event, channel, recipient), claimed before the external call.

Each step commits on its own (never inside the consumer's inbox transaction), so what happened
outside survives a crash. A step that is one statement may run without a transaction block (an
autocommit session: one round trip instead of three). Row states: `pending` while a call is in flight (or just claimed),
`retrying` after a transient failure (nothing in flight), then `sent`, `failed` or `skipped`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert

from flowpilot_shared.consumer.runtime import database_unavailable
from flowpilot_shared.events import AnyEvent
from flowpilot_shared.models.notifications import Delivery, DeliveryStatus
from flowpilot_shared.unit_of_work import UnitOfWork

CRASHED_IN_FLIGHT = "outcome unknown after crash; not resent to avoid a duplicate"
ERROR_LIMIT = 1000
# How long recording a call's outcome waits for an unreachable database before giving up.
OUTCOME_PATIENCE_SECONDS = 60.0
FINAL = (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.skipped)
# Table-level DML: every send runs these, and the ORM's bulk-DML path adds nothing here.
DELIVERIES = cast(Table, Delivery.__table__)

UowFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class Claim:
    """A ledger row this processing may send for; `attempts` made so far."""

    delivery_id: uuid.UUID
    attempts: int
    # A fresh row is claimed with its first attempt already marked in flight (one commit, not two).
    in_flight: bool = False


def _handoff_id(event: AnyEvent) -> uuid.UUID | None:
    return getattr(event.data, "handoff_id", None)


def _row(
    event: AnyEvent, channel: str, recipient: str, status: str, error: str | None, attempts: int = 0
) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "account_id": event.account_id,
        "session_id": event.session_id,
        "handoff_id": _handoff_id(event),
        "event_id": event.id,
        "event_type": event.type,
        "channel": channel,
        "recipient": recipient,
        "status": status,
        "attempts": attempts,
        "last_error": error,
    }


async def claim(
    new_uow: UowFactory,
    *,
    event: AnyEvent,
    channel: str,
    recipient: str,
    single: UowFactory | None = None,
) -> Claim | None:
    """Claim the row before any call; None when this (event, channel, recipient) must not be sent now.

    A new row is committed `pending` with attempt 1 in flight: the first call may start at once. A
    row left `pending` by a crashed attempt may or may not have gone out: it is marked `failed`
    rather than resent. A `retrying` row carries on where it stopped (its next attempt not begun).
    The insert is one statement (`single` may run it without a transaction); judging an existing
    row takes a locking read and a write, in a transaction from `new_uow`.
    """
    async with (single or new_uow)() as uow:
        inserted = await uow.session.execute(
            insert(DELIVERIES)
            .values(**_row(event, channel, recipient, DeliveryStatus.pending, None, attempts=1))
            .on_conflict_do_nothing(index_elements=["event_id", "channel", "recipient"])
            .returning(DELIVERIES.c.id)
        )
        new_id = inserted.scalar_one_or_none()
        await uow.commit()
    if new_id is not None:
        return Claim(delivery_id=new_id, attempts=1, in_flight=True)
    async with new_uow() as uow:
        existing = (
            await uow.session.execute(
                select(Delivery)
                .where(
                    Delivery.event_id == event.id,
                    Delivery.channel == channel,
                    Delivery.recipient == recipient,
                )
                .with_for_update()
            )
        ).scalar_one()
        if existing.status == DeliveryStatus.retrying:
            return Claim(delivery_id=existing.id, attempts=existing.attempts)
        if existing.status == DeliveryStatus.pending:
            existing.status = DeliveryStatus.failed
            existing.last_error = CRASHED_IN_FLIGHT
            await uow.commit()
        return None


async def record_skipped(
    new_uow: UowFactory, *, event: AnyEvent, channel: str, recipient: str, reason: str
) -> bool:
    """A visible `skipped` row (no integration, recipient deactivated); False if one already existed."""
    async with new_uow() as uow:
        inserted = await uow.session.execute(
            insert(DELIVERIES)
            .values(**_row(event, channel, recipient, DeliveryStatus.skipped, reason[:ERROR_LIMIT]))
            .on_conflict_do_nothing(index_elements=["event_id", "channel", "recipient"])
            .returning(DELIVERIES.c.id)
        )
        created = inserted.scalar_one_or_none() is not None
        await uow.commit()
    return created


async def begin_attempt(new_uow: UowFactory, delivery_id: uuid.UUID, *, after: int) -> int | None:
    """Mark a call in flight (`pending`, attempts + 1) and commit before the call is made.

    Compare-and-set on `after` (the attempts this processing knows of): None when another
    processing (a redelivery elsewhere) has moved the row on, so two never send at once.
    """
    async with new_uow() as uow:
        attempts = (
            await uow.session.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.attempts == after,
                    Delivery.status.in_([DeliveryStatus.pending, DeliveryStatus.retrying]),
                )
                .values(status=DeliveryStatus.pending, attempts=Delivery.attempts + 1, updated_at=func.now())
                .returning(Delivery.attempts)
            )
        ).scalar_one_or_none()
        await uow.commit()
    return None if attempts is None else int(attempts)


async def record_outcome(
    new_uow: UowFactory,
    delivery_id: uuid.UUID,
    *,
    status: DeliveryStatus,
    error: str | None = None,
    external_id: str | None = None,
) -> None:
    """Record what the call did: `sent` (with the channel's id), `retrying` or `failed` (with why)."""
    values: dict[str, object] = {"status": status, "updated_at": func.now()}
    # A `sent` row keeps the error of its last failed attempt: the retry stays on record.
    if error is not None:
        values["last_error"] = error[:ERROR_LIMIT]
    if external_id is not None:
        values["external_id"] = external_id[:300]
    # The call has been made: losing its outcome to a database blip would leave the row `pending`,
    # and the redelivery would then record a sent message as failed. Wait for the database instead.
    deadline = time.monotonic() + OUTCOME_PATIENCE_SECONDS
    delay = 0.1
    while True:
        try:
            async with new_uow() as uow:
                await uow.session.execute(
                    update(DELIVERIES).where(DELIVERIES.c.id == delivery_id).values(**values)
                )
                await uow.commit()
            return
        except Exception as exc:
            if not database_unavailable(exc) or time.monotonic() + delay > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def reopen_failed(new_uow: UowFactory, event_id: uuid.UUID, channel: str) -> int:
    """For a deliberate replay: let definitively failed rows of an event be tried again.

    Rows failed by a crash mid-call are left alone (the message may have gone out).
    """
    async with new_uow() as uow:
        result = await uow.session.execute(
            update(Delivery)
            .where(
                Delivery.event_id == event_id,
                Delivery.channel == channel,
                Delivery.status == DeliveryStatus.failed,
                Delivery.last_error.is_distinct_from(CRASHED_IN_FLIGHT),
            )
            .values(status=DeliveryStatus.retrying, attempts=0, updated_at=func.now())
        )
        await uow.commit()
    return int(getattr(result, "rowcount", 0) or 0)
