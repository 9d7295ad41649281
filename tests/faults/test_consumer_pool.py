"""More messages in flight than pooled connections, each handler taking a second connection: no stall.

Found by the broker-outage scenario: notifier and psa-sync handlers hold their inbox connection while
they commit a ledger claim on a second one; with prefetch above the pool size every connection ended
up held by a handler waiting for another, the pool timed out after 30 s and messages were
dead-lettered ("QueuePool limit ... reached").
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from flowpilot_shared.broker.topology import QueueSpec
from flowpilot_shared.consumer import Consumer, HandlerContext
from flowpilot_shared.db import Database
from flowpilot_shared.events import AnyEvent
from tests.faults.direct import handled_count
from tests.harness.broker import own_queue, send_to_queue
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until

MESSAGES = 40


@pytest.mark.faults
@pytest.mark.timeout(90)
async def test_handlers_needing_a_second_connection_never_starve_the_pool(db, amqp, core_settings):
    settings = core_settings.model_copy(
        update={"db_pool_size": 3, "db_max_overflow": 0, "consumer_prefetch": 16}
    )
    small = Database.from_settings(settings)
    spec = QueueSpec(f"test.pool.{uuid.uuid4().hex[:8]}", ("handoff.escalated",))
    name = f"pool-{uuid.uuid4().hex[:8]}"

    async def handler(event: AnyEvent, ctx: HandlerContext) -> None:
        await (await ctx.uow.connection()).execute("SELECT 1")
        async with ctx.new_uow() as ledger:  # a claim committed before an external call
            await ledger.session.execute(text("SELECT pg_sleep(0.02)"))
            await ledger.commit()

    consumer = Consumer(name=name, spec=spec, handler=handler, db=small, settings=settings)
    team = await make_team(db, engineers=1)
    template = await make_escalation(db, team, escalator=team.owner)
    try:
        async with own_queue(amqp, spec, settings.delivery_limit) as channel:
            await consumer.start(amqp)
            try:
                for _ in range(MESSAGES):
                    event = template.model_copy(update={"id": uuid.uuid4()})
                    await send_to_queue(channel, spec, event)

                async def all_handled() -> bool:
                    return await handled_count(db, name) == MESSAGES

                # Without a cap, 3 handlers hold the 3 connections and wait 30 s for a fourth.
                await wait_until(
                    all_handled, timeout=20, interval=0.2, message=f"{MESSAGES} messages handled"
                )
            finally:
                await consumer.stop()
    finally:
        await small.dispose()
