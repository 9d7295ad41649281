"""Wakes a partition's active relay through RabbitMQ, from a replica whose relay stands by.

A NOTIFY costs PostgreSQL a transaction of its own and one more in every listening backend of the
database (every active relay's connection, `active.listen`): with two API workers, the worker
standing by woke the other at five commits a time, for about half of all handoffs. A message on the
broker costs PostgreSQL nothing, and every service process already talks to the broker.

While it is active, a relay takes its partition's wake queue: not durable, deleted with its last
consumer, holding at most one message for a second. A wake-up nobody is there to take is worth
nothing (a relay that becomes active starts with a pass, and every relay polls), so it goes out
unconfirmed and not mandatory: one lost, to a broker restart or to no relay being active, costs the
rows the relay's next poll (`outbox_poll_seconds`), nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from flowpilot_shared.broker.publisher import connect
from flowpilot_shared.closing import close_quietly
from flowpilot_shared.outbox.partitions import Partition

log = structlog.get_logger(__name__)

QUEUE_PREFIX = "flowpilot.outbox.wake."
QUEUE_ARGUMENTS: dict[str, Any] = {"x-max-length": 1, "x-overflow": "drop-head", "x-message-ttl": 1000}
RETRY_SECONDS = 1.0
SEND_TIMEOUT_SECONDS = 2.0


def wake_queue(partition: Partition) -> str:
    """The queue the active relay of `partition` takes its wake-ups from."""
    return f"{QUEUE_PREFIX}{partition.name}"


class BrokerWake:
    """A relay's own broker connection for wake-ups: sends them while it stands by, takes them while
    it is active. Opened on first use, so a process whose relay never needs one opens none."""

    def __init__(self, *, amqp_url: str, name: str, partition: Partition) -> None:
        self._amqp_url = amqp_url
        self._name = name
        self._queue = wake_queue(partition)
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._opening = asyncio.Lock()

    async def _open_channel(self) -> AbstractChannel:
        async with self._opening:  # a send and a take starting together share one connection
            if self._connection is None:
                self._connection = await connect(self._amqp_url, f"{self._name}-outbox-wake")
            if self._channel is None or self._channel.is_closed:
                self._channel = await self._connection.channel(publisher_confirms=False)
            return self._channel

    async def send(self) -> None:
        """Wake the active relay of this partition, if there is one."""
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):  # a broker that is away: the poll stands in
            channel = await self._open_channel()
            message = aio_pika.Message(b"", delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT)
            await channel.default_exchange.publish(message, routing_key=self._queue)

    async def take(self, on_wake: Callable[[], None]) -> None:
        """Call `on_wake` for each wake-up sent to this partition, until cancelled (the relay is no
        longer active). While the broker cannot be reached the relay's polls stand in."""
        while True:
            try:
                await self._take(on_wake)
            except Exception as exc:
                log.warning("outbox wake queue not taken", queue=self._queue, error=str(exc)[:300])
                await asyncio.sleep(RETRY_SECONDS)

    async def _take(self, on_wake: Callable[[], None]) -> None:
        channel = await self._open_channel()
        queue = await channel.declare_queue(
            self._queue, durable=False, auto_delete=True, arguments=QUEUE_ARGUMENTS
        )

        async def woken(_message: AbstractIncomingMessage) -> None:
            on_wake()

        tag = await queue.consume(woken, no_ack=True)
        try:
            await asyncio.Future()  # until cancelled
        finally:
            # The queue goes with its last consumer: wake-ups sent meanwhile are dropped, not kept.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(queue.cancel(tag), timeout=2.0)

    async def close(self) -> None:
        """Close the connection, if one was opened."""
        if self._connection is not None:
            await close_quietly(self._connection)
