"""A sent message's outcome is recorded even when the database blinks right after the call.

Found by the fault suite (broker outage with PostgreSQL out of connections): the SMTP call
succeeded, recording `sent` failed with "too many clients", the row stayed `pending`, and the
redelivery marked the delivered email `failed` (outcome unknown): an effect without a true record.
"""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import select

from flowpilot_shared.models import Delivery, DeliveryStatus
from flowpilot_shared.unit_of_work import UnitOfWork
from notifier.channels import ledger
from tests.harness.factories import make_escalation, make_team


@pytest.mark.faults
async def test_outcome_waits_for_the_database(db):
    team = await make_team(db, engineers=1)
    event = await make_escalation(db, team, escalator=team.owner)
    claim = await ledger.claim(
        lambda: UnitOfWork(db.sessions), event=event, channel="email", recipient="senior@example.com"
    )
    assert claim is not None
    refusals = {"left": 3}

    class Refusing(UnitOfWork):
        async def __aenter__(self) -> UnitOfWork:
            if refusals["left"] > 0:
                refusals["left"] -= 1
                raise asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")
            return await super().__aenter__()

    await ledger.record_outcome(
        lambda: Refusing(db.sessions), claim.delivery_id, status=DeliveryStatus.sent, external_id="<m@x>"
    )
    async with db.sessions() as s:
        row = await s.get(Delivery, claim.delivery_id)
    assert row is not None and row.status == DeliveryStatus.sent and refusals["left"] == 0


@pytest.mark.faults
async def test_other_errors_are_not_retried(db):
    team = await make_team(db, engineers=1)
    event = await make_escalation(db, team, escalator=team.owner)
    claim = await ledger.claim(
        lambda: UnitOfWork(db.sessions), event=event, channel="email", recipient="senior@example.com"
    )
    assert claim is not None
    calls = {"n": 0}

    class Broken(UnitOfWork):
        async def __aenter__(self) -> UnitOfWork:
            calls["n"] += 1
            raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        await ledger.record_outcome(
            lambda: Broken(db.sessions), claim.delivery_id, status=DeliveryStatus.sent
        )
    assert calls["n"] == 1
    async with db.sessions() as s:
        status = await s.scalar(select(Delivery.status).where(Delivery.id == claim.delivery_id))
    assert status == DeliveryStatus.pending
