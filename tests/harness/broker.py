"""Test-side RabbitMQ helpers: capture what reaches the exchange, publish raw bodies and events."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from flowpilot_shared.broker.topology import QueueSpec, declare_exchanges, declare_queue
from flowpilot_shared.events import EVENTS_EXCHANGE, AnyEvent, event_to_json


@dataclass
class Captured:
    """Every message an exclusive test queue bound to the exchange received."""

    messages: list[AbstractIncomingMessage] = field(default_factory=list)

    def bodies(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Decoded bodies, optionally of one type."""
        out = [json.loads(m.body) for m in self.messages]
        return [b for b in out if event_type is None or b.get("type") == event_type]

    def of_account(self, account_id: object, event_type: str | None = None) -> list[dict[str, Any]]:
        """Decoded bodies of one account (tests share a vhost, tenants keep them apart)."""
        return [b for b in self.bodies(event_type) if b.get("account_id") == str(account_id)]


async def capture(
    connection: AbstractRobustConnection, routing_key: str = "#", exchange: str = EVENTS_EXCHANGE
) -> Captured:
    """Bind a fresh exclusive queue to the exchange and collect what arrives."""
    channel = await connection.channel()
    await declare_exchanges(channel)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key=routing_key)
    captured = Captured()

    async def on_message(message: AbstractIncomingMessage) -> None:
        captured.messages.append(message)
        await message.ack()

    await queue.consume(on_message)
    return captured


async def publish_raw(
    connection: AbstractRobustConnection,
    routing_key: str,
    body: bytes,
    *,
    message_id: str | None = None,
    exchange: str = EVENTS_EXCHANGE,
) -> None:
    """Publish arbitrary bytes (poison messages, duplicates) with confirms."""
    channel = await connection.channel(publisher_confirms=True)
    await declare_exchanges(channel)
    target = await channel.get_exchange(exchange)
    await target.publish(
        aio_pika.Message(
            body,
            message_id=message_id,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        ),
        routing_key=routing_key,
        timeout=10,
    )
    await channel.close()


async def publish_event(connection: AbstractRobustConnection, event: AnyEvent) -> None:
    """Publish an event as the outbox relay would: its wire body, its type as the routing key and its
    id as the message id (publishing it twice is a duplicate delivery)."""
    body = json.dumps(event_to_json(event)).encode()
    await publish_raw(connection, event.type, body, message_id=str(event.id))


async def purge_queues(
    connection: AbstractRobustConnection, specs: Iterable[QueueSpec], delivery_limit: int
) -> None:
    """Empty these consumer queues (declared when missing): messages earlier tests left in this
    worker's vhost never reach this test's consumers."""
    channel = await connection.channel()
    for spec in specs:
        await (await declare_queue(channel, spec, delivery_limit)).purge()
    await channel.close()


@contextlib.asynccontextmanager
async def own_queue(
    connection: AbstractRobustConnection, spec: QueueSpec, delivery_limit: int
) -> AsyncIterator[AbstractChannel]:
    """A test's own consumer queue and its dead-letter queue, deleted when the block ends; yields
    the channel that declared them."""
    channel = await connection.channel()
    queue = await declare_queue(channel, spec, delivery_limit)
    try:
        yield channel
    finally:
        await queue.delete(if_unused=False, if_empty=False)
        await (await channel.get_queue(spec.dlq)).delete(if_unused=False, if_empty=False)
        await channel.close()


async def send_to_queue(channel: AbstractChannel, spec: QueueSpec, event: AnyEvent) -> None:
    """Put an event straight into `spec`'s queue (the default exchange; no binding involved)."""
    message = aio_pika.Message(event.model_dump_json().encode(), message_id=str(event.id))
    await channel.default_exchange.publish(message, routing_key=spec.name)


async def dead_letters(
    connection: AbstractRobustConnection, spec: QueueSpec
) -> list[AbstractIncomingMessage]:
    """Take every message off `spec`'s dead-letter queue."""
    channel = await connection.channel()
    queue = await channel.get_queue(spec.dlq)
    out = []
    while (message := await queue.get(fail=False, no_ack=True)) is not None:
        out.append(message)
    await channel.close()
    return out
