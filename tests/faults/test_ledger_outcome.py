"""A sent message's outcome is recorded even when the database blinks right after the call.

Found by the fault suite (broker outage with PostgreSQL out of connections): the SMTP call
succeeded, recording `sent` failed with "too many clients", the row stayed `pending`, and the
redelivery marked the delivered email `failed` (outcome unknown): an effect without a true record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy import select

from flowpilot_shared.db import Database
from flowpilot_shared.models import Delivery, DeliveryStatus
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from notifier.channels import ledger
from tests.harness.factories import make_escalation, make_team


def failing_first(db, calls: dict[str, int], error: Exception, times: int) -> ledger.Connect:
    """`db.driver`, except that its first `times` checkouts raise `error`."""

    @asynccontextmanager
    async def connect() -> AsyncIterator[asyncpg.Connection]:
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        async with db.driver() as conn:
            yield conn

    return connect


async def _claimed_email(db: Database) -> ledger.Claim:
    """An escalation's email to a senior, claimed in the ledger (sent next; its outcome not yet recorded)."""
    team = await make_team(db, engineers=1)
    event = await make_escalation(db, team, escalator=team.owner)
    claim = await ledger.claim(
        lambda: OrmUnitOfWork(db.sessions),
        event=event,
        channel="email",
        recipient="senior@example.com",
        connect=db.driver,
    )
    assert claim is not None
    return claim


@pytest.mark.faults
async def test_outcome_waits_for_the_database(db):
    claim = await _claimed_email(db)
    calls = {"n": 0}
    refusing = failing_first(
        db, calls, asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"), times=3
    )

    await ledger.record_outcome(refusing, claim.delivery_id, status=DeliveryStatus.sent, external_id="<m@x>")
    async with db.sessions() as s:
        row = await s.get(Delivery, claim.delivery_id)
    assert row is not None and row.status == DeliveryStatus.sent and row.external_id == "<m@x>"
    assert calls["n"] == 4


@pytest.mark.faults
async def test_other_errors_are_not_retried(db):
    claim = await _claimed_email(db)
    calls = {"n": 0}
    broken = failing_first(db, calls, ValueError("a bug, not an outage"), times=100)

    with pytest.raises(ValueError):
        await ledger.record_outcome(broken, claim.delivery_id, status=DeliveryStatus.sent)
    assert calls["n"] == 1
    async with db.sessions() as s:
        status = await s.scalar(select(Delivery.status).where(Delivery.id == claim.delivery_id))
    assert status == DeliveryStatus.pending
