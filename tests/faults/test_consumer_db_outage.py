"""A database that refuses connections does not spend a message's attempts (no dead letter for an outage).

Found by the fault suite: with PostgreSQL out of connections ("sorry, too many clients already") or
restarting, every handler failed fast, each message spent its five attempts within seconds and was
dead-lettered: its bell rows, emails and PSA note were lost until an operator replayed it.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from flowpilot_shared.broker.topology import QueueSpec
from flowpilot_shared.consumer import Consumer, HandlerContext
from flowpilot_shared.db import database_unavailable
from flowpilot_shared.events import AnyEvent
from tests.faults.direct import handled_count
from tests.harness.broker import own_queue, send_to_queue
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until


def test_what_counts_as_the_database_being_unavailable():
    assert database_unavailable(asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"))
    assert database_unavailable(
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
    )
    assert database_unavailable(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert database_unavailable(ConnectionRefusedError(111, "Connection refused"))
    assert database_unavailable(asyncpg.exceptions.InternalClientError("cannot switch to state 15"))
    wrapped = RuntimeError("wrapper")
    wrapped.__cause__ = asyncpg.exceptions.TooManyConnectionsError("too many")
    assert database_unavailable(wrapped)
    assert not database_unavailable(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    assert not database_unavailable(ValueError("bad data"))
    assert not database_unavailable(TimeoutError("the PSA did not answer"))


@pytest.mark.faults
@pytest.mark.timeout(60)
async def test_a_database_outage_longer_than_the_attempts_loses_nothing(db, amqp, core_settings):
    settings = core_settings.model_copy(update={"consumer_max_attempts": 3})
    spec = QueueSpec(f"test.dbdown.{uuid.uuid4().hex[:8]}", ("handoff.escalated",))
    name = f"dbdown-{uuid.uuid4().hex[:8]}"
    refusals = {"left": 8}  # more refusals than attempts

    async def handler(event: AnyEvent, ctx: HandlerContext) -> None:
        if refusals["left"] > 0:
            refusals["left"] -= 1
            raise asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")

    consumer = Consumer(name=name, spec=spec, handler=handler, db=db, settings=settings)
    team = await make_team(db, engineers=1)
    event = await make_escalation(db, team, escalator=team.owner)
    async with own_queue(amqp, spec, settings.delivery_limit) as channel:
        await consumer.start(amqp)
        try:
            await send_to_queue(channel, spec, event)
            await wait_until(
                lambda: handled_count(db, name),
                timeout=30,
                interval=0.1,
                message="handled once the database answers",
            )
            dlq = await channel.declare_queue(spec.dlq, passive=True)
            assert dlq.declaration_result.message_count == 0
        finally:
            await consumer.stop()
