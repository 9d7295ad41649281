"""A lingering consumer: messages that trickle in within the linger share one inbox transaction."""

from __future__ import annotations

import asyncio

from flowpilot_shared.consumer import HandlerContext
from flowpilot_shared.events import AnyEvent
from tests.harness.broker import publish_event
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.shared.conftest import inbox_transactions, start_consumer

TRICKLE = 8


async def _noop(event: AnyEvent, ctx: HandlerContext) -> None:
    await ctx.uow.connection()


async def test_messages_arriving_one_by_one_within_the_linger_share_a_commit(
    amqp, db, core_settings, queue_spec
):
    consumer = await start_consumer(
        amqp, db, core_settings, queue_spec, _noop, batch_limit=16, batch_linger_seconds=2.0
    )
    team = await make_team(db)
    events = [await make_escalation(db, team, escalator=team.users[1]) for _ in range(TRICKLE)]
    try:
        for event in events:  # one at a time, as a projection's events arrive
            await publish_event(amqp, event)
            await asyncio.sleep(0)
        ids = [e.id for e in events]

        async def recorded() -> dict | None:
            inbox = await inbox_transactions(db, queue_spec.name, ids)
            return inbox if len(inbox) == TRICKLE else None

        inbox = await wait_until(recorded, timeout=30, message="every event recorded")
    finally:
        await consumer.stop()
    # Unlingered, each would have committed alone (nothing else was waiting when it arrived).
    assert len(set(inbox.values())) <= 2, inbox
