"""The consumer runtime: dedupe by event id, bounded retries, dead-lettering, and it keeps consuming."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from flowpilot_shared.broker.topology import QueueSpec
from flowpilot_shared.consumer import Consumer, HandlerContext, runtime
from flowpilot_shared.errors import PermanentError, TransientError
from flowpilot_shared.events import AnyEvent, HandoffEscalated
from tests.harness.broker import dead_letters, publish_event, publish_raw
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.shared.conftest import ROUTING_KEY, start_consumer


class Recorder:
    """A handler that records calls and fails as scripted."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.calls: list[uuid.UUID] = []
        self.failures = failures or []

    async def __call__(self, event: AnyEvent, ctx: HandlerContext) -> None:
        self.calls.append(event.id)
        if self.failures:
            raise self.failures.pop(0)


async def _event(db) -> HandoffEscalated:
    team = await make_team(db)
    return await make_escalation(db, team, escalator=team.users[1])


async def _dead_letters_of(
    event: HandoffEscalated, amqp: AbstractRobustConnection, spec: QueueSpec, consumer: Consumer
) -> list[AbstractIncomingMessage]:
    """Publish the event and wait for its queue's dead letters; the consumer is stopped either way."""
    await publish_event(amqp, event)
    try:
        return await wait_until(lambda: dead_letters(amqp, spec), message="dead-lettered")
    finally:
        await consumer.stop()


async def test_duplicate_delivery_runs_the_effect_once(amqp, db, core_settings, queue_spec):
    handler = Recorder()
    consumer = await start_consumer(amqp, db, core_settings, queue_spec, handler)
    event = await _event(db)
    for _ in range(2):
        await publish_event(amqp, event)
    marker = await _event(db)
    await publish_event(amqp, marker)
    try:
        await wait_until(lambda: marker.id in handler.calls, message="marker handled")
    finally:
        await consumer.stop()
    assert handler.calls.count(event.id) == 1


async def test_transient_errors_are_retried_then_succeed(amqp, db, core_settings, queue_spec):
    handler = Recorder([TransientError("smtp 451"), TransientError("smtp 451")])
    consumer = await start_consumer(amqp, db, core_settings, queue_spec, handler)
    event = await _event(db)
    await publish_event(amqp, event)
    try:
        await wait_until(lambda: len(handler.calls) == 3, message="third attempt")
    finally:
        await consumer.stop()
    assert await dead_letters(amqp, queue_spec) == []


async def test_handler_failing_every_time_is_dead_lettered_after_the_limit(
    amqp, db, core_settings, queue_spec
):
    handler = Recorder([TransientError("down")] * 10)
    consumer = await start_consumer(amqp, db, core_settings, queue_spec, handler, max_attempts=3)
    event = await _event(db)
    dead = await _dead_letters_of(event, amqp, queue_spec, consumer)
    assert handler.calls == [event.id] * 3
    assert dead[0].message_id == str(event.id)
    assert "gave up after 3 attempts" in str(dead[0].headers["x-flowpilot-error"])


async def test_poison_goes_straight_to_the_dead_letter_queue_and_consuming_continues(
    amqp, db, core_settings, queue_spec
):
    handler = Recorder()
    consumer = await start_consumer(amqp, db, core_settings, queue_spec, handler)
    await publish_raw(amqp, ROUTING_KEY, b"{not json", message_id="poison-1")
    await publish_raw(amqp, ROUTING_KEY, b'{"type": "handoff.escalated", "id": "x"}', message_id="poison-2")
    good = await _event(db)
    await publish_event(amqp, good)
    dead: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def both_dead() -> bool:
        dead.extend(await dead_letters(amqp, queue_spec))
        return len(dead) >= 2

    try:
        await wait_until(lambda: good.id in handler.calls, message="good event handled")
        await wait_until(both_dead, message="poison dead-lettered")
    finally:
        await consumer.stop()
    assert sorted(m.message_id for m in dead) == ["poison-1", "poison-2"]
    assert all("invalid event" in str(m.headers["x-flowpilot-error"]) for m in dead)
    assert handler.calls == [good.id]


async def test_permanent_error_dead_letters_without_retry(amqp, db, core_settings, queue_spec):
    handler = Recorder([PermanentError("401 from PSA")])
    consumer = await start_consumer(amqp, db, core_settings, queue_spec, handler)
    event = await _event(db)
    dead = await _dead_letters_of(event, amqp, queue_spec, consumer)
    assert handler.calls == [event.id]
    assert dead[0].headers["x-flowpilot-queue"] == queue_spec.name


async def test_queue_is_a_quorum_queue_with_delivery_limit_and_dlx(
    amqp, db, core_settings, queue_spec, infra
):
    consumer = await start_consumer(amqp, db, core_settings, queue_spec, Recorder())
    await consumer.stop()
    listing = subprocess.run(
        [
            *infra.rabbitmqctl,
            "list_queues",
            "-p",
            infra.vhost,
            "name",
            "type",
            "arguments",
            "--no-table-headers",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [line] = [ln for ln in listing.splitlines() if ln.split("\t")[0] == queue_spec.name]
    assert "quorum" in line
    assert "x-delivery-limit" in line and "flowpilot.dlx" in line and queue_spec.dlq in line


async def test_a_stopping_consumer_takes_no_new_delivery(amqp, db, core_settings, queue_spec):
    # While it finishes what it holds, a message published meanwhile stays in the queue: started
    # then, it would lose its channel before its ack and be handled again by another replica.
    release = asyncio.Event()
    calls: list[uuid.UUID] = []

    async def slow(event: AnyEvent, ctx: HandlerContext) -> None:
        calls.append(event.id)
        await release.wait()

    consumer = await start_consumer(amqp, db, core_settings, queue_spec, slow)
    first, second = await _event(db), await _event(db)
    await publish_event(amqp, first)
    await wait_until(lambda: first.id in calls, message="first message in hand")
    stopping = asyncio.create_task(consumer.stop())
    try:
        await publish_event(amqp, second)
        await wait_until(
            lambda: _ready(amqp, queue_spec.name, 1), message="the new message waits in the queue"
        )
    finally:
        release.set()
        await stopping
    assert calls == [first.id]
    assert await _ready(amqp, queue_spec.name, 1)


async def _ready(amqp, queue: str, count: int) -> bool:
    """Whether `count` messages wait, ready, in the queue (none of them delivered)."""
    channel = await amqp.channel()
    declared = await channel.declare_queue(queue, passive=True)
    await channel.close()
    return declared.declaration_result.message_count == count


async def test_a_message_still_running_after_the_stop_grace_is_cancelled_and_redelivered(
    amqp, db, core_settings, queue_spec, monkeypatch
):
    # A handler stuck on a lock or a dead peer must not hold the process past its grace period: it is
    # cancelled, its message was never acked, and the next consumer handles it.
    monkeypatch.setattr(runtime, "STOP_GRACE_SECONDS", 0.2)
    calls: list[uuid.UUID] = []

    async def stuck(event: AnyEvent, ctx: HandlerContext) -> None:
        calls.append(event.id)
        await asyncio.Event().wait()

    consumer = await start_consumer(amqp, db, core_settings, queue_spec, stuck)
    event = await _event(db)
    await publish_event(amqp, event)
    await wait_until(lambda: event.id in calls, message="the message in hand")
    await asyncio.wait_for(consumer.stop(), timeout=15)

    handler = Recorder()
    again = await start_consumer(amqp, db, core_settings, queue_spec, handler)
    try:
        await wait_until(
            lambda: event.id in handler.calls, message="the message handled by the next consumer"
        )
    finally:
        await again.stop()
    assert handler.calls == [event.id]
