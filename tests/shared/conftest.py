"""Fixtures of the shared-package tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from flowpilot_shared.broker.topology import QueueSpec

ROUTING_KEY = "handoff.escalated"


@pytest.fixture
async def queue_spec(amqp) -> AsyncIterator[QueueSpec]:
    spec = QueueSpec(f"test.runtime.{uuid.uuid4().hex[:8]}", (ROUTING_KEY,))
    yield spec
    channel = await amqp.channel()
    for name in (spec.name, spec.dlq):
        await channel.queue_delete(name, if_unused=False, if_empty=False)
    await channel.close()
