"""The `handoff.escalated` consumer: generate outside any transaction, then write once.

The model call can take tens of seconds, so it runs in the runtime's `prepare` step, before the inbox
transaction opens (no pooled connection idles in a transaction meanwhile). The handler then writes the
package, the documentation and the event in one short transaction. A concurrent replica that wins the
race surfaces as a duplicate key inside a savepoint: no second documentation, no second event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from docgen.content import DocInput, Generation
from docgen.generation import Generator
from docgen.metrics import DUPLICATES, GENERATIONS
from docgen.settings import DocgenSettings
from docgen.store import is_documented, store_generation
from flowpilot_shared.broker.topology import DOCGEN_ESCALATIONS
from flowpilot_shared.consumer import ALREADY_DONE, Consumer, HandlerContext
from flowpilot_shared.db import Database
from flowpilot_shared.errors import PermanentError
from flowpilot_shared.events import AnyEvent, HandoffEscalated
from flowpilot_shared.service import ServiceRuntime

CONSUMER_NAME = "docgen.escalations"


def escalations_consumer(runtime: ServiceRuntime, settings: DocgenSettings, generator: Generator) -> Consumer:
    """The `handoff.escalated` consumer: `Documenter.generate` before the inbox transaction, `store` in it."""
    documenter = Documenter(db=runtime.db, generator=generator)
    return Consumer(
        name=CONSUMER_NAME,
        spec=DOCGEN_ESCALATIONS,
        prepare=documenter.generate,
        handler=documenter.store,
        db=runtime.db,
        settings=settings,
        # The model call is the prepare step, outside the transaction: storing is database work.
        batch_limit=settings.consumer_batch_limit,
        closes=(generator,),
    )


class Documenter:
    """Documents each escalation once, however often and wherever its event is delivered."""

    def __init__(self, *, db: Database, generator: Generator) -> None:
        self._db = db
        self._generator = generator

    async def generate(self, event: AnyEvent, facts: Mapping[str, object]) -> Any:
        """Outside any transaction: skip a documented handoff, else generate (AI or template).

        The check spares a redelivery its model call; the template costs less than the query, and
        the write below refuses a second documentation either way.
        """
        if not isinstance(event, HandoffEscalated):
            raise PermanentError(f"unexpected event type {event.type}")
        if self._generator.uses_model:
            async with self._db.driver() as conn:
                if await is_documented(conn, event.data.handoff_id):
                    DUPLICATES.inc()
                    return ALREADY_DONE
        doc = DocInput.from_event(event)
        return doc, await self._generator.generate(doc)

    async def store(self, event: AnyEvent, ctx: HandlerContext) -> object:
        """Inside the inbox transaction: write version 1 unless a concurrent replica already did."""
        doc, generation = ctx.prepared
        assert isinstance(doc, DocInput) and isinstance(generation, Generation)
        try:
            stored = await store_generation(ctx.uow, doc, generation, version=1)
        except asyncpg.IntegrityConstraintViolationError as exc:  # say the session is gone
            raise PermanentError(f"cannot store documentation: {exc}") from exc
        if stored is None:
            DUPLICATES.inc()
            return ALREADY_DONE
        GENERATIONS.labels(generation.generated_by).inc()
        return None
