"""The other services' outbox relays, for tests that run one service and write the others' events.

Each service's relay publishes only its own service's events (`outbox.partitions`): a test that runs
the notifier alone and commits an escalation (handoff-api's event) needs handoff-api's relay beside
it, as a deployment has.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from flowpilot_shared.db import Database
from flowpilot_shared.outbox.relay import OutboxRelay
from flowpilot_shared.settings import CoreSettings

SERVICES_WITH_EVENTS = ("handoff-api", "notifier", "docgen", "psa-sync")


def relays_besides(
    service: str, settings: CoreSettings
) -> contextlib.AbstractAsyncContextManager[list[OutboxRelay]]:
    """Every other service's relay, running on a pool of their own for the block."""
    return running_relays(settings, *(name for name in SERVICES_WITH_EVENTS if name != service))


@contextlib.asynccontextmanager
async def running_relays(settings: CoreSettings, *services: str) -> AsyncIterator[list[OutboxRelay]]:
    """These services' relays, running on a pool of their own for the block."""
    db = Database.from_settings(settings)
    relays = [OutboxRelay(db=db, settings=settings, name=name) for name in services]
    try:
        for relay in relays:
            await relay.start()
        yield relays
    finally:
        for relay in relays:
            await relay.stop()
        await db.dispose()
