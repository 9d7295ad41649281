"""Fixtures and helpers of the shared-package tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection

from flowpilot_shared.broker.topology import QueueSpec
from flowpilot_shared.consumer import Consumer
from flowpilot_shared.db import Database
from flowpilot_shared.settings import CoreSettings

ROUTING_KEY = "handoff.escalated"


async def start_consumer(
    amqp: AbstractRobustConnection,
    db: Database,
    settings: CoreSettings,
    spec: QueueSpec,
    handler: Any,
    **options: Any,
) -> Consumer:
    """A consumer of `spec` named after its queue, consuming (stop it when done)."""
    consumer = Consumer(name=spec.name, spec=spec, handler=handler, db=db, settings=settings, **options)
    await consumer.start(amqp)
    return consumer


async def inbox_transactions(db: Database, consumer: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each event's inbox row and the transaction that wrote it (its xmin)."""
    async with db.driver() as conn:
        rows = await conn.fetch(
            "SELECT event_id, xmin::text AS tx FROM inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])",
            consumer,
            ids,
        )
    return {row["event_id"]: row["tx"] for row in rows}


@pytest.fixture
async def queue_spec(amqp) -> AsyncIterator[QueueSpec]:
    spec = QueueSpec(f"test.runtime.{uuid.uuid4().hex[:8]}", (ROUTING_KEY,))
    yield spec
    channel = await amqp.channel()
    for name in (spec.name, spec.dlq):
        await channel.queue_delete(name, if_unused=False, if_empty=False)
    await channel.close()
