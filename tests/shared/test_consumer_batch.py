"""Batched inbox transactions: ready messages share one commit, a failing one costs the others nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from prometheus_client import REGISTRY

from flowpilot_shared.broker.topology import QueueSpec
from flowpilot_shared.consumer import ALREADY_DONE, HandlerContext
from flowpilot_shared.errors import PermanentError
from flowpilot_shared.events import AnyEvent, HandoffEscalated
from tests.harness.broker import dead_letters, publish_event
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.shared.conftest import inbox_transactions, start_consumer

BURST = 40


class SlowRecorder:
    """Records each handled event with its transaction id; the first calls wait to let a backlog form."""

    def __init__(self, *, fail: set[uuid.UUID] | None = None) -> None:
        self.handled: dict[uuid.UUID, int] = {}
        self.calls: list[uuid.UUID] = []
        self.fail = fail or set()
        self.release = asyncio.Event()

    async def __call__(self, event: AnyEvent, ctx: HandlerContext) -> None:
        self.calls.append(event.id)
        await asyncio.wait_for(self.release.wait(), timeout=30)
        conn = await ctx.uow.connection()
        self.handled[event.id] = await conn.fetchval("SELECT txid_current()")
        if event.id in self.fail:
            raise PermanentError("this one is broken")


async def _events(db, count: int) -> list[HandoffEscalated]:
    team = await make_team(db)
    return [await make_escalation(db, team, escalator=team.users[1]) for _ in range(count)]


async def test_a_backlog_is_handled_in_few_transactions_each_event_once(amqp, db, core_settings, queue_spec):
    handler = SlowRecorder()
    consumer = await start_consumer(amqp, db, core_settings, queue_spec, handler, batch_limit=16)
    events = await _events(db, BURST)
    try:
        for event in events:
            await publish_event(amqp, event)
        # A duplicate publish of one of them, in the same backlog.
        await publish_event(amqp, events[5])
        await wait_until(lambda: len(handler.calls) >= 2, message="two batches started")
        handler.release.set()
        ids = [e.id for e in events]
        inbox = await wait_until(
            lambda: _when_all(inbox_transactions(db, queue_spec.name, ids), BURST), message="all recorded"
        )
    finally:
        await consumer.stop()
    assert sorted(handler.calls) == sorted(ids)  # each once, the duplicate not at all
    # Each event's inbox row was written by the transaction its handler ran in...
    assert all(inbox[i] == str(handler.handled[i]) for i in ids)
    # ...and the backlog that formed behind the first two shared transactions.
    assert len(set(inbox.values())) < BURST // 2


async def test_a_failing_event_in_a_batch_leaves_the_others_handled(amqp, db, core_settings, queue_spec):
    events = await _events(db, 12)
    broken = events[7].id
    handler = SlowRecorder(fail={broken})
    consumer = await start_consumer(amqp, db, core_settings, queue_spec, handler, batch_limit=16)
    try:
        for event in events:
            await publish_event(amqp, event)
        await wait_until(lambda: len(handler.calls) >= 2, message="two batches started")
        await wait_until(lambda: _all_delivered(amqp, queue_spec), message="the rest delivered, waiting")
        handler.release.set()
        good = [e.id for e in events if e.id != broken]
        inbox = await wait_until(
            lambda: _when_all(inbox_transactions(db, queue_spec.name, good), len(good)),
            message="the others recorded",
        )
        dead = await wait_until(
            lambda: dead_letters(amqp, queue_spec), message="the broken one dead-lettered"
        )
    finally:
        await consumer.stop()
    assert [m.message_id for m in dead] == [str(broken)]
    assert broken not in await inbox_transactions(db, queue_spec.name, [broken])
    assert set(inbox) == set(good)
    # It was tried in a batch with others (which rolled back), then on its own.
    assert handler.calls.count(broken) == 2


async def _all_delivered(amqp, spec: QueueSpec) -> bool:
    """Nothing left in the queue itself: every message is with the consumer (unacked)."""
    channel = await amqp.channel()
    try:
        queue = await channel.declare_queue(spec.name, passive=True)
        return queue.declaration_result.message_count == 0
    finally:
        await channel.close()


async def _when_all(rows: Any, count: int) -> dict[uuid.UUID, str] | None:
    found = await rows
    return found if len(found) == count else None


async def test_without_an_inbox_the_handlers_own_rows_make_a_copy_a_no_op(
    amqp, db, core_settings, queue_spec
):
    """`inbox=False` (the bell, psa-sync): no inbox row; each delivery runs the handler in a transaction
    and a copy finds the handler's own unique row (here: a row of another consumer name) already there."""
    own = f"own-{queue_spec.name}"
    outcomes: dict[uuid.UUID, list[object]] = {}

    async def record_once(event: AnyEvent, ctx: HandlerContext) -> object:
        conn = await ctx.uow.connection()
        made = await conn.fetchval(
            "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
            own,
            event.id,
        )
        outcome = None if made else ALREADY_DONE
        outcomes.setdefault(event.id, []).append(outcome)
        return outcome

    events = await _events(db, 3)
    consumer = await start_consumer(
        amqp, db, core_settings, queue_spec, record_once, batch_limit=16, inbox=False
    )
    try:
        for event in events:
            await publish_event(amqp, event)
        await wait_until(lambda: len(outcomes) == 3, message="every event handled")
        await publish_event(amqp, events[0])  # a copy, after the first one committed
        await wait_until(lambda: len(outcomes[events[0].id]) == 2, message="the copy handled")
    finally:
        await consumer.stop()
    ids = [e.id for e in events]
    assert await inbox_transactions(db, queue_spec.name, ids) == {}
    assert set(await inbox_transactions(db, own, ids)) == set(ids)
    assert outcomes[events[0].id] == [None, ALREADY_DONE]
    duplicates = REGISTRY.get_sample_value(
        "flowpilot_consumer_messages_total", {"consumer": queue_spec.name, "outcome": "duplicate"}
    )
    assert duplicates == 1
