"""The broker topology, declared here only; whoever consumes declares it idempotently.

Durable queues are quorum queues with `x-delivery-limit` and a dead-letter queue each
(`<queue>.dlq`, bound to the `flowpilot.dlx` direct exchange). Unroutable events go to the
`flowpilot.unrouted` alternate exchange instead of vanishing. Event types no FlowPilot queue consumes
(yet) are bound to `flowpilot.events.unconsumed`, an internal exchange with no queue: they are
published for whoever binds to them later and otherwise dropped, so the unrouted queue holds only
what was misrouted, not every note pushed (up to its 100,000-message cap, on the broker's disk and
in its memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue

from flowpilot_shared.events import (
    DOMAIN_EVENT_TYPES,
    EVENTS_EXCHANGE,
    STREAM_EXCHANGE,
    DocumentationGenerated,
    HandoffClaimed,
    HandoffEscalated,
    HandoffReescalated,
    HandoffReleased,
    NotificationCreated,
    PsaPushFailed,
    event_types,
)

DLX_EXCHANGE = "flowpilot.dlx"
UNROUTED_EXCHANGE = "flowpilot.unrouted"
UNROUTED_QUEUE = "flowpilot.unrouted"
UNROUTED_MAX_LENGTH = 100_000
UNCONSUMED_EXCHANGE = "flowpilot.events.unconsumed"


@dataclass(frozen=True)
class QueueSpec:
    """A durable consumer queue and the event types routed to it."""

    name: str
    bindings: tuple[str, ...]

    @property
    def dlq(self) -> str:
        """Name of this queue's dead-letter queue."""
        return f"{self.name}.dlq"


# What an escalation's people hear about: the escalation, its rounds, its claim and release.
_ESCALATION_STORY = (HandoffEscalated, HandoffClaimed, HandoffReescalated, HandoffReleased)
NOTIFIER_BELL = QueueSpec("notifier.bell", event_types(*_ESCALATION_STORY, PsaPushFailed))
NOTIFIER_EMAIL = QueueSpec("notifier.email", event_types(HandoffEscalated, HandoffReescalated))
# notifier.chat carries Slack; Teams has its own queue so one dead chat service never delays the other.
NOTIFIER_CHAT = QueueSpec("notifier.chat", event_types(*_ESCALATION_STORY))
NOTIFIER_TEAMS = QueueSpec("notifier.teams", event_types(*_ESCALATION_STORY))
DOCGEN_ESCALATIONS = QueueSpec("docgen.escalations", event_types(HandoffEscalated))
PSA_SYNC_DOCUMENTATION = QueueSpec("psa-sync.documentation", event_types(DocumentationGenerated))

ALL_QUEUES: tuple[QueueSpec, ...] = (
    NOTIFIER_BELL,
    NOTIFIER_EMAIL,
    NOTIFIER_CHAT,
    NOTIFIER_TEAMS,
    DOCGEN_ESCALATIONS,
    PSA_SYNC_DOCUMENTATION,
)

# Queues no consumer reads any more, with the routing keys they were bound to. Declaring the topology
# unbinds them (`retire_queues`), so an upgraded broker stops filling them; what they hold is left
# for an operator to look at and delete (docs/operations.md). handoff-api's timeline projection was
# one: the timeline now reads the deliveries, documentation and PSA pushes where they are written.
RETIRED_QUEUES: dict[str, tuple[str, ...]] = {
    "handoff-api.timeline": (
        "delivery.recorded",
        "documentation.generated",
        "psa.note_pushed",
        "psa.push_failed",
    ),
}

# Event types every notifier replica's private stream queue receives.
STREAM_EVENT_TYPES: tuple[str, ...] = event_types(*_ESCALATION_STORY, DocumentationGenerated)

# Published, but no FlowPilot queue is bound to them (derived, so a new consumer queue takes its type off).
UNCONSUMED_EVENT_TYPES: tuple[str, ...] = tuple(
    t for t in DOMAIN_EVENT_TYPES if not any(t in spec.bindings for spec in ALL_QUEUES)
)


def awaited(event_type: str) -> bool:
    """Whether a FlowPilot consumer (a queue, or the live stream for bell pushes) waits for events of
    this type; a commit of only unawaited ones lets the relay publish them on its next pass."""
    return event_type not in UNCONSUMED_EVENT_TYPES


# What people watch as it happens (the live queue, the bell): their wake-up goes out within 5 ms.
WATCHED_LIVE_EVENT_TYPES: tuple[str, ...] = event_types(*_ESCALATION_STORY, NotificationCreated)


class Wake(IntEnum):
    """How soon a commit of an event wakes the active relay (a transaction's need is its events' max)."""

    NONE = 0  # the relay's next pass takes it
    SHORTLY = 1  # a wake-up shared with the commits of the next 50 ms
    SOON = 2  # a wake-up within 5 ms


def wake_for(event_type: str) -> Wake:
    """How soon committing an event of this type wakes the active relay."""
    if event_type in WATCHED_LIVE_EVENT_TYPES:
        return Wake.SOON
    if awaited(event_type):
        return Wake.SHORTLY
    return Wake.NONE


def expects_a_queue(exchange: str, routing_key: str) -> bool:
    """Whether a publish must reach a queue (published mandatory): a domain event a FlowPilot queue
    consumes. Stream-only events and unconsumed types may reach none, by design."""
    return exchange == EVENTS_EXCHANGE and awaited(routing_key)


async def declare_exchanges(channel: AbstractChannel) -> AbstractExchange:
    """Declare every exchange (idempotent) and return the events exchange."""
    unrouted = await channel.declare_exchange(UNROUTED_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True)
    unrouted_queue = await channel.declare_queue(
        UNROUTED_QUEUE,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-max-length": UNROUTED_MAX_LENGTH,
            "x-overflow": "drop-head",
        },
    )
    await unrouted_queue.bind(unrouted)
    await channel.declare_exchange(DLX_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True)
    await channel.declare_exchange(STREAM_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    events = await channel.declare_exchange(
        EVENTS_EXCHANGE,
        aio_pika.ExchangeType.TOPIC,
        durable=True,
        arguments={"alternate-exchange": UNROUTED_EXCHANGE},
    )
    # Routed to an exchange counts as routed: the alternate exchange no longer sees these types.
    unconsumed = await channel.declare_exchange(
        UNCONSUMED_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True, internal=True
    )
    for routing_key in UNCONSUMED_EVENT_TYPES:
        await unconsumed.bind(events, routing_key=routing_key)
    return events


def queue_arguments(spec: QueueSpec, delivery_limit: int) -> dict[str, Any]:
    """Arguments of a durable consumer queue (must match deploy/rabbitmq/definitions.json)."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DLX_EXCHANGE,
        "x-dead-letter-routing-key": spec.dlq,
    }


async def declare_queue(channel: AbstractChannel, spec: QueueSpec, delivery_limit: int) -> AbstractQueue:
    """Declare a consumer queue, its dead-letter queue and its bindings (idempotent)."""
    events = await declare_exchanges(channel)
    dlx = await channel.get_exchange(DLX_EXCHANGE)
    dlq = await channel.declare_queue(spec.dlq, durable=True, arguments={"x-queue-type": "quorum"})
    await dlq.bind(dlx, routing_key=spec.dlq)
    queue = await channel.declare_queue(
        spec.name, durable=True, arguments=queue_arguments(spec, delivery_limit)
    )
    for routing_key in spec.bindings:
        await queue.bind(events, routing_key=routing_key)
    return queue


async def retire_queues(connection: AbstractConnection) -> None:
    """Unbind every retired queue that exists (idempotent; each check on a channel of its own, since
    RabbitMQ closes a channel that names a missing queue)."""
    for name, routing_keys in RETIRED_QUEUES.items():
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(name, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity:
            continue  # never declared on this broker, or deleted since
        for routing_key in routing_keys:
            await queue.unbind(EVENTS_EXCHANGE, routing_key=routing_key)
        await channel.close()
