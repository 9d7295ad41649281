"""Confirmed, persistent, mandatory publishing with a timeout (the pitfalls of DESIGN.md)."""

from __future__ import annotations

import json
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from aio_pika.connection import make_url

from flowpilot_shared.broker.topology import declare_exchanges, expects_a_queue
from flowpilot_shared.closing import close_quietly


def robust_connection(amqp_url: str, name: str) -> AbstractRobustConnection:
    """A robust connection, not yet connected: its owner can close it even if `connect()` is cancelled.

    Channels, queues and consumers are restored after a broker restart.
    """
    return aio_pika.RobustConnection(
        make_url(amqp_url, reconnect_interval=1.0),
        client_properties={"connection_name": name},
        reconnect_interval=1.0,
    )


async def connect(amqp_url: str, name: str) -> AbstractRobustConnection:
    """A connected robust connection."""
    connection = robust_connection(amqp_url, name)
    try:
        await connection.connect()
    except BaseException:
        await close_quietly(connection)
        raise
    return connection


def build_message(
    *, event_id: str, event_type: str, body: dict[str, Any] | bytes, headers: dict[str, Any] | None = None
) -> aio_pika.Message:
    """A persistent JSON message whose `message_id` is the event id and `type` the event type."""
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return aio_pika.Message(
        raw,
        message_id=event_id,
        type=event_type,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers=headers or {},
    )


class Publisher:
    """Publishes to the declared exchanges with publisher confirms and returns raising."""

    def __init__(self, connection: AbstractRobustConnection, timeout: float) -> None:
        self._connection = connection
        self._timeout = timeout
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}

    async def channel(self) -> AbstractChannel:
        """The confirming channel, opened (and the exchanges declared) on first use."""
        if self._channel is None or self._channel.is_closed:
            channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
            await declare_exchanges(channel)
            self._channel = channel
            self._exchanges = {}
        return self._channel

    async def publish(self, exchange: str, routing_key: str, message: aio_pika.Message) -> None:
        """Publish and wait for the broker's confirm; raises on nack, return or timeout.

        A domain event no queue takes is returned (and raises). A stream-only event is a live push
        to the notifier replicas that have clients right now: with none, nobody is waiting for it,
        and a client that connects later replays it from the event log. An event type no FlowPilot
        queue consumes goes to whoever binds to it, possibly nobody.
        """
        channel = await self.channel()
        target = self._exchanges.get(exchange)
        if target is None:
            target = self._exchanges[exchange] = await channel.get_exchange(exchange, ensure=False)
        await target.publish(
            message,
            routing_key=routing_key,
            mandatory=expects_a_queue(exchange, routing_key),
            timeout=self._timeout,
        )

    async def close(self) -> None:
        """Close the channel and the connection."""
        await self._connection.close()
