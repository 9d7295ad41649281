"""The `handoff.escalated` consumer: generate outside any transaction, then write once.

The shared runtime claims the inbox row first and runs the handler inside that transaction; a model
call of up to tens of seconds would then hold a pooled connection idle-in-transaction. This consumer
keeps the runtime's delivery, retry and dead-letter handling but reorders one attempt: skip if the
handoff is documented already, generate (no transaction open), then claim the inbox and write in one
short transaction. A concurrent replica that wins the race surfaces as a duplicate key: no second
documentation, no second event.
"""

from __future__ import annotations

from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy.exc import IntegrityError

from docgen.content import DocInput
from docgen.generation import Generator
from docgen.metrics import DUPLICATES, GENERATIONS
from docgen.settings import DocgenSettings
from docgen.store import is_documented, is_unique_violation, store_generation
from flowpilot_shared.broker.topology import DOCGEN_ESCALATIONS
from flowpilot_shared.consumer.runtime import Consumer, HandlerContext, PermanentError
from flowpilot_shared.db import Database
from flowpilot_shared.events import AnyEvent, HandoffEscalated
from flowpilot_shared.unit_of_work import UnitOfWork

CONSUMER_NAME = "docgen.escalations"


async def _not_used(event: AnyEvent, ctx: HandlerContext) -> None:
    raise NotImplementedError("DocgenConsumer runs its own attempt (see module docstring)")


class DocgenConsumer(Consumer):
    """Documents each escalation once, however often and wherever its event is delivered."""

    def __init__(self, *, db: Database, settings: DocgenSettings, generator: Generator) -> None:
        super().__init__(
            name=CONSUMER_NAME, spec=DOCGEN_ESCALATIONS, handler=_not_used, db=db, settings=settings
        )
        self._generator = generator

    async def _run_once(self, event: AnyEvent, message: AbstractIncomingMessage, attempt: int) -> str:
        if not isinstance(event, HandoffEscalated):
            raise PermanentError(f"unexpected event type {event.type}")
        async with self._db.sessions() as session:
            documented = await is_documented(session, event.data.handoff_id)
        if documented:
            await self._record_duplicate(event)
            return "duplicate"
        doc = DocInput.from_event(event)
        generation = await self._generator.generate(doc)
        try:
            async with UnitOfWork(self._db.sessions) as uow:
                if not await uow.claim_inbox(self.name, event.id):
                    DUPLICATES.inc()
                    return "duplicate"
                await store_generation(uow, doc, generation, version=1)
                await uow.commit()
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise PermanentError(f"cannot store documentation: {exc.orig}") from exc
            DUPLICATES.inc()
            return "duplicate"
        GENERATIONS.labels(generation.generated_by).inc()
        return "processed"

    async def _record_duplicate(self, event: HandoffEscalated) -> None:
        DUPLICATES.inc()
        async with UnitOfWork(self._db.sessions) as uow:
            await uow.claim_inbox(self.name, event.id)
            await uow.commit()


def build_consumers(db: Database, settings: DocgenSettings, generator: Generator) -> list[Consumer]:
    """The consumers a docgen process runs."""
    return [DocgenConsumer(db=db, settings=settings, generator=generator)]
