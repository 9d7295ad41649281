"""The broker topology: what reaches the unrouted queue, against the real RabbitMQ."""

from __future__ import annotations

import uuid

from aio_pika.abc import AbstractRobustConnection

from flowpilot_shared.broker.topology import (
    EVENTS_EXCHANGE,
    RETIRED_QUEUES,
    UNCONSUMED_EVENT_TYPES,
    UNROUTED_QUEUE,
    Wake,
    declare_exchanges,
    retire_queues,
    wake_for,
)
from tests.harness.broker import capture, publish_raw
from tests.harness.waiting import wait_until


async def _take_unrouted(connection: AbstractRobustConnection, seen: set[str]) -> None:
    """Take what the unrouted queue holds now, remembering the message ids."""
    channel = await connection.channel()
    queue = await channel.get_queue(UNROUTED_QUEUE)
    while (message := await queue.get(fail=False, no_ack=True)) is not None:
        seen.add(str(message.message_id))
    await channel.close()


async def test_only_misrouted_events_reach_the_unrouted_queue(amqp) -> None:
    """An event type nobody in FlowPilot consumes is dropped quietly; an unknown type is kept."""
    assert set(UNCONSUMED_EVENT_TYPES) == {"handoff.parked", "session.resolved", "psa.note_pushed"}
    known = {key: f"known-{key}-{uuid.uuid4().hex}" for key in UNCONSUMED_EVENT_TYPES}
    for key, message_id in known.items():
        await publish_raw(amqp, key, b"{}", message_id=message_id)
    # Published (and confirmed) after the known types: once it is in the queue, they would be too.
    misrouted = f"misrouted-{uuid.uuid4().hex}"
    await publish_raw(amqp, "handoff.escalatd", b"{}", message_id=misrouted)
    seen: set[str] = set()

    async def arrived() -> bool:
        await _take_unrouted(amqp, seen)
        return misrouted in seen

    await wait_until(arrived, message="the misrouted event reaches flowpilot.unrouted")
    assert not seen & set(known.values())


async def test_a_queue_bound_to_an_unconsumed_type_still_receives_it(amqp) -> None:
    """The drop only applies while nobody listens: a later subscriber gets the events."""
    captured = await capture(amqp, "session.resolved")
    message_id = f"resolved-{uuid.uuid4().hex}"
    await publish_raw(amqp, "session.resolved", b"{}", message_id=message_id)

    async def received() -> bool:
        return any(m.message_id == message_id for m in captured.messages)

    await wait_until(received, message="the subscriber receives session.resolved")


def test_a_commit_wakes_the_relay_as_soon_as_its_events_are_watched():
    # Watched live (the queue, the bell): within 5 ms; awaited by a consumer: a shared wake-up;
    # nobody (published for whoever binds later): the relay's next pass.
    assert {t: wake_for(t) for t in ("handoff.escalated", "handoff.claimed", "notification.created")} == {
        "handoff.escalated": Wake.SOON,
        "handoff.claimed": Wake.SOON,
        "notification.created": Wake.SOON,
    }
    assert wake_for("documentation.generated") == Wake.SHORTLY
    assert wake_for("psa.push_failed") == Wake.SHORTLY
    assert {wake_for(t) for t in ("psa.note_pushed", "handoff.parked")} == {Wake.NONE}


async def test_a_retired_queue_left_by_an_older_release_stops_filling(amqp) -> None:
    """An upgraded broker still has handoff-api.timeline, bound as before: declaring the topology
    unbinds it, keeps what it holds for an operator, and is a no-op once it is gone."""
    [(name, routing_keys)] = RETIRED_QUEUES.items()
    channel = await amqp.channel()
    await declare_exchanges(channel)
    old = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    for routing_key in routing_keys:
        await old.bind(EVENTS_EXCHANGE, routing_key=routing_key)
    try:
        await publish_raw(amqp, "documentation.generated", b"{}", message_id=f"before-{uuid.uuid4().hex}")
        await wait_until(lambda: _depth(amqp, name, 1), message="the old queue receives what it was bound to")
        await retire_queues(amqp)
        await retire_queues(amqp)  # idempotent
        for routing_key in routing_keys:
            await publish_raw(amqp, routing_key, b"{}", message_id=f"after-{uuid.uuid4().hex}")
        # Published after, confirmed, and routed elsewhere or dropped: the old queue still holds one.
        assert await _depth(amqp, name, 1)
    finally:
        await old.delete(if_unused=False, if_empty=False)
        await channel.close()
    await retire_queues(amqp)  # the queue is gone: nothing to do, no error


async def _depth(connection: AbstractRobustConnection, name: str, expected: int) -> bool:
    channel = await connection.channel()
    queue = await channel.declare_queue(name, passive=True)
    await channel.close()
    return queue.declaration_result.message_count == expected
