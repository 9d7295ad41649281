"""Events that may reach no queue by design go out without holding up their session; only events
someone waits for wake the relay at once."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from flowpilot_shared.events import (
    CreatedNotification,
    HandoffEscalated,
    HandoffParked,
    HandoffParkedData,
    NotificationCreated,
    NotificationCreatedData,
)
from flowpilot_shared.models import OutboxEvent
from flowpilot_shared.outbox.relay import OutboxRelay
from flowpilot_shared.unit_of_work import DriverUnitOfWork, OrmUnitOfWork
from tests.harness.broker import capture
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.shared.outbox_checks import all_marked, published, running


def _bell_for(escalated: HandoffEscalated) -> tuple[NotificationCreated, None]:
    """A stream-only bell push for the escalation's first recipient."""
    recipient = escalated.data.recipients[0]
    bell = NotificationCreated(
        account_id=escalated.account_id,
        session_id=escalated.session_id,
        data=NotificationCreatedData(
            type="handoff_escalated",
            title="escalated to you",
            body="",
            link=None,
            handoff_id=escalated.data.handoff_id,
            rows=[
                CreatedNotification(
                    notification_id=uuid.uuid4(), user_id=recipient.id, created_at=escalated.occurred_at
                )
            ],
        ),
    )
    return bell, None


def _park_for(escalated: HandoffEscalated) -> tuple[HandoffParked, None]:
    """A park of the escalated session, a type no FlowPilot queue consumes (parking notifies nobody)."""
    data = HandoffParkedData(
        handoff_id=uuid.uuid4(),
        reason="back after lunch",
        parked_at=escalated.occurred_at,
        session=escalated.data.session,
        parked_by=escalated.data.escalator,
    )
    return HandoffParked(account_id=escalated.account_id, session_id=escalated.session_id, data=data), None


@pytest.mark.parametrize("first", [_bell_for, _park_for], ids=["stream-only", "unconsumed-type"])
async def test_an_event_no_queue_takes_does_not_hold_up_its_session(db, amqp, core_settings, first):
    # With no client on any notifier replica nothing is bound to the stream exchange, and no
    # FlowPilot queue takes handoff.parked: both reach no queue, by design. Neither may be returned
    # to the relay as unroutable (that would fail the row, back the relay off and hold up the
    # session's next event): each goes out at once, and the event behind it too.
    captured = await capture(amqp, "handoff.escalated")
    team = await make_team(db)
    escalated = await make_escalation(db, team, escalator=team.users[1])
    event, user_id = first(escalated)
    async with OrmUnitOfWork(db.sessions) as uow:
        uow.add_event(event, user_id=user_id)
        uow.add_event(escalated)
        await uow.commit()
    # The bell push is the notifier's to publish (`outbox.partitions`), the rest handoff-api's.
    async with (
        running(OutboxRelay(db=db, settings=core_settings, name="test")),
        running(OutboxRelay(db=db, settings=core_settings, name="notifier")),
    ):
        await wait_until(
            lambda: published(captured, escalated.id), message="the session's next event published"
        )
        await wait_until(
            lambda: all_marked(db, [event.id, escalated.id]), message="both rows marked published"
        )
    async with db.sessions() as session:
        attempts = await session.scalar(select(OutboxEvent.attempts).where(OutboxEvent.id == event.id))
    assert attempts == 0, "its publish failed before it went out"


@pytest.mark.parametrize("unit", [OrmUnitOfWork, DriverUnitOfWork], ids=["orm", "driver"])
async def test_only_events_someone_waits_for_wake_the_relay(db, core_settings, monkeypatch, unit):
    # A park has no FlowPilot consumer: its commit sends no wake-up (one transaction less per
    # escalation when the active relay is in another process), and the relay's next pass takes it.
    pokes: list[bool] = []  # each poke's `soon`
    monkeypatch.setattr(db.outbox_waker, "poke", lambda *, soon: pokes.append(soon))
    team = await make_team(db)
    escalated = await make_escalation(db, team, escalator=team.users[1])
    park, _ = _park_for(escalated)
    factory = (
        (lambda: OrmUnitOfWork(db.sessions)) if unit is OrmUnitOfWork else (lambda: DriverUnitOfWork(db))
    )
    async with factory() as uow:
        uow.add_event(park)
        await uow.commit()
    assert pokes == []
    async with factory() as uow:
        uow.add_event(escalated)
        await uow.commit()
    assert pokes == [True]  # seniors watch the queue live: a wake-up within 5 ms
    async with running(OutboxRelay(db=db, settings=core_settings, name="test")):
        await wait_until(lambda: all_marked(db, [park.id, escalated.id]), message="both published")
