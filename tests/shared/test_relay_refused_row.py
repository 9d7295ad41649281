"""A row the broker refuses waits out its own retry; the other sessions' rows keep flowing; the
backlog gauges show it; an operator lists it and has it tried again (`flowpilot-admin outbox`)."""

from __future__ import annotations

import json
import uuid

from prometheus_client import REGISTRY
from sqlalchemy import delete, select

from flowpilot_shared.events import EVENTS_EXCHANGE
from flowpilot_shared.models import OutboxEvent
from flowpilot_shared.outbox import housekeeping, pending
from flowpilot_shared.outbox.relay import OutboxRelay
from flowpilot_shared.settings import CoreSettings
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from tests.harness.admin import run_admin
from tests.harness.broker import capture
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.shared.outbox_checks import all_marked, published


def _admin(settings: CoreSettings, *args: str) -> str:
    """`flowpilot-admin outbox ...` against this worker's database."""
    return run_admin("outbox", *args, env={"FLOWPILOT_DATABASE_URL": settings.database_url})


async def _backlog(db) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The relay's backlog gauges (unpublished, failing), refreshed now."""
    await housekeeping.refresh_gauges(db)
    values = (
        REGISTRY.get_sample_value(name)
        for name in ("flowpilot_outbox_unpublished", "flowpilot_outbox_failing")
    )
    unpublished, failing = (value or 0.0 for value in values)
    return unpublished, failing


async def _row(db, row_id: uuid.UUID) -> OutboxEvent:  # type: ignore[no-untyped-def]
    async with db.sessions() as session:
        return (await session.execute(select(OutboxEvent).where(OutboxEvent.id == row_id))).scalar_one()


async def test_a_refused_row_waits_alone_and_holds_back_only_its_session(
    db, amqp, core_settings, monkeypatch
):
    # Long enough that the refused row is not tried again while the test runs.
    monkeypatch.setattr(pending, "ROW_RETRY_BASE_SECONDS", 120.0)
    refused_key = f"test.refused.{uuid.uuid4().hex[:8]}"
    captured = await capture(amqp, "handoff.escalated")  # declares the exchanges too
    channel = await amqp.channel()
    # A queue that takes nothing: the broker nacks every publish routed to it.
    full = await channel.declare_queue(
        exclusive=True, arguments={"x-max-length": 0, "x-overflow": "reject-publish"}
    )
    await full.bind(EVENTS_EXCHANGE, routing_key=refused_key)
    team = await make_team(db)
    held = await make_escalation(db, team, escalator=team.users[1])
    other = await make_escalation(db, team, escalator=team.users[1])
    refused_id = uuid.uuid4()
    base = await _backlog(db)
    async with db.sessions() as session, session.begin():
        session.add(
            OutboxEvent(
                id=refused_id,
                exchange=EVENTS_EXCHANGE,
                routing_key=refused_key,
                account_id=team.account.id,
                session_id=held.session_id,
                payload={},
            )
        )
    async with OrmUnitOfWork(db.sessions) as uow:
        uow.add_event(held)  # the refused row's session goes on after it
        await uow.commit()
    relay = OutboxRelay(db=db, settings=core_settings, name="test")
    await relay.start()
    try:

        async def refused_once() -> bool:
            return (await _row(db, refused_id)).attempts >= 1

        await wait_until(refused_once, message="the broker's refusal recorded on the row")
        async with OrmUnitOfWork(db.sessions) as uow:
            uow.add_event(other)
            await uow.commit()
        await wait_until(lambda: published(captured, other.id), message="another session's event published")
        await wait_until(lambda: all_marked(db, [other.id]), message="and marked published")
        row = await _row(db, refused_id)
        # Not tried again pass after pass (the relay did not back off as a whole and retry it).
        assert row.attempts == 1, row.last_error
        assert row.retry_at is not None and row.published_at is None
        assert row.last_error and "DeliveryError" in row.last_error, row.last_error
        # Its session's next event waits behind it: session order holds.
        assert not await published(captured, held.id)
        assert (await _row(db, held.id)).published_at is None

        # Visible in the metrics operators alert on: two rows waiting, one of them failing.
        assert await _backlog(db) == (base[0] + 2, base[1] + 1)

        # The operator sees it, fixes the cause, and has it tried again now rather than in minutes.
        listed = {r["id"]: r for r in json.loads(_admin(core_settings, "list", "--json"))}
        assert listed[str(refused_id)]["attempts"] == 1
        assert "DeliveryError" in listed[str(refused_id)]["last_error"]
        await full.unbind(EVENTS_EXCHANGE, routing_key=refused_key)
        assert "to be tried again now" in _admin(core_settings, "retry", "--id", str(refused_id))
        await wait_until(
            lambda: all_marked(db, [refused_id, held.id]),
            message="the row and its session's next event published",
        )
        assert await published(captured, held.id)
        assert str(refused_id) not in _admin(core_settings, "list")
        assert await _backlog(db) == base
    finally:
        await relay.stop()
        async with db.sessions() as session, session.begin():
            await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_([refused_id, held.id])))
        await channel.close()
