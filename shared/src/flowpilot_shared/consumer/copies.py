"""Copies of one event in one consumer run one after the other, never side by side.

The same event can arrive twice at once: published again by a relay that died between publishing and
marking it, or a queue's redelivery. A channel's second copy running beside the first would find the
first's ledger rows `pending` (a call in flight) and take them for the leftovers of a crash: marked
failed, announced as failed, although the first copy was sending and went on to send. Waiting for the
first copy to finish, the second finds its work settled and does nothing. Copies reaching two
replicas are the ledger's to judge: by the time a replica's consumer sees a row, the first replica's
processing has usually ended.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class CopiesInFlight:
    """The events a consumer is processing now, each with what a later copy waits on."""

    def __init__(self) -> None:
        self._running: dict[uuid.UUID, asyncio.Event] = {}

    @asynccontextmanager
    async def alone(self, event_id: uuid.UUID) -> AsyncIterator[None]:
        """Run the block once no other copy of `event_id` is running in this consumer."""
        while (running := self._running.get(event_id)) is not None:
            await running.wait()
        done = self._running[event_id] = asyncio.Event()
        try:
            yield
        finally:
            del self._running[event_id]
            done.set()
