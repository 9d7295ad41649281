"""The `handoff.escalated` consumer: generate outside any transaction, then write once.

The model call can take tens of seconds, so it runs before anything is written (no pooled connection
idles in a transaction meanwhile). Then one statement writes the package, the documentation and the
event, and PostgreSQL commits it as a whole. The documentation row is the consumer's tracking record,
as a ledger row is a channel's: its key (handoff, version) lets one writer through, so a redelivery or
a concurrent replica writes nothing and says so. An inbox row beside it would guard nothing and cost
a transaction block (BEGIN, the inbox row, COMMIT: three round trips) for every escalation.
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
from flowpilot_shared.consumer import ALREADY_DONE, Consumer
from flowpilot_shared.db import Database
from flowpilot_shared.errors import PermanentError
from flowpilot_shared.events import AnyEvent, HandoffEscalated
from flowpilot_shared.service import ServiceRuntime
from flowpilot_shared.unit_of_work import DriverUnitOfWork

CONSUMER_NAME = "docgen.escalations"


def escalations_consumer(runtime: ServiceRuntime, settings: DocgenSettings, generator: Generator) -> Consumer:
    """The `handoff.escalated` consumer: `Documenter.document` for each event (no inbox row)."""
    documenter = Documenter(db=runtime.db, generator=generator)
    return Consumer(
        name=CONSUMER_NAME,
        spec=DOCGEN_ESCALATIONS,
        deliver=documenter.document,
        db=runtime.db,
        settings=settings,
        closes=(generator,),
    )


class Documenter:
    """Documents each escalation once, however often and wherever its event is delivered."""

    def __init__(self, *, db: Database, generator: Generator) -> None:
        self._db = db
        self._generator = generator

    async def generate(self, event: AnyEvent) -> Any:
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

    async def document(self, event: AnyEvent, facts: Mapping[str, object]) -> object:
        """Generate, then write version 1 in one statement unless a redelivery or a replica already did."""
        generated = await self.generate(event)
        if generated is ALREADY_DONE:
            return ALREADY_DONE
        doc, generation = generated
        return await self.store(doc, generation)

    async def store(self, doc: DocInput, generation: Generation) -> object:
        """Write version 1 (package, documentation, event) as one statement, committed by itself."""
        try:
            async with DriverUnitOfWork(self._db, single_statement=True) as uow:
                stored = await store_generation(uow, doc, generation, version=1)
                await uow.commit()
        except asyncpg.IntegrityConstraintViolationError as exc:  # say the session is gone
            raise PermanentError(f"cannot store documentation: {exc}") from exc
        if stored is None:
            DUPLICATES.inc()
            return ALREADY_DONE
        GENERATIONS.labels(generation.generated_by).inc()
        return None
