"""Writes a generation (package + documentation, one version) and stages `documentation.generated`."""

from __future__ import annotations

import json
import uuid

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from docgen.content import DocInput, Generation
from flowpilot_shared.events import DocumentationGenerated, DocumentationGeneratedData
from flowpilot_shared.models.documentation import Documentation, EscalationPackage
from flowpilot_shared.unit_of_work import UnitOfWork, outbox_sql

IS_DOCUMENTED = "SELECT EXISTS (SELECT 1 FROM documentation WHERE handoff_id = $1)"
# The documentation row decides: the package and the `documentation.generated` outbox row are written
# only with it, and none of them when another writer holds this version (ON CONFLICT waits for that
# writer's transaction to end).
STORE_GENERATION = f"""
WITH d AS (
  INSERT INTO documentation (id, account_id, session_id, handoff_id, version, content_markdown, generated_by,
                             model, input_tokens, output_tokens, latency_ms, fallback_reason)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
  ON CONFLICT (handoff_id, version) DO NOTHING
  RETURNING created_at
), p AS (
  INSERT INTO escalation_packages (id, account_id, session_id, handoff_id, version, content, generated_by, model)
  SELECT $13, $2, $3, $4, $5, $14::text::jsonb, $7, $8 FROM d
  ON CONFLICT (handoff_id, version) DO NOTHING
), o AS (
  {outbox_sql(15, only_with="d")}
)
SELECT created_at FROM d
"""


async def is_documented(conn: asyncpg.Connection, handoff_id: uuid.UUID) -> bool:
    """Whether any documentation exists for this handoff already."""
    return bool(await conn.fetchval(IS_DOCUMENTED, handoff_id))


async def next_version(session: AsyncSession, handoff_id: object) -> int:
    """One more than the highest version of the handoff's package or documentation."""
    doc_max = select(func.coalesce(func.max(Documentation.version), 0)).where(
        Documentation.handoff_id == handoff_id
    )
    pkg_max = select(func.coalesce(func.max(EscalationPackage.version), 0)).where(
        EscalationPackage.handoff_id == handoff_id
    )
    return (
        max((await session.execute(doc_max)).scalar_one(), (await session.execute(pkg_max)).scalar_one()) + 1
    )


async def store_generation(
    uow: UnitOfWork, doc: DocInput, gen: Generation, *, version: int
) -> Documentation | None:
    """Insert both rows and the event's outbox row at `version`; None (nothing written) if the
    version exists.

    One plain statement in the unit of work's transaction: it runs for every escalation, and a
    version another writer took is answered by the statement itself, with no savepoint to undo.
    """
    documentation = Documentation(
        id=uuid.uuid4(),
        account_id=doc.account_id,
        session_id=doc.session.id,
        handoff_id=doc.handoff_id,
        version=version,
        content_markdown=gen.markdown,
        generated_by=gen.generated_by,
        model=gen.model,
        input_tokens=gen.input_tokens,
        output_tokens=gen.output_tokens,
        latency_ms=gen.latency_ms,
        fallback_reason=gen.fallback_reason,
    )
    event = DocumentationGenerated(
        account_id=doc.account_id,
        session_id=doc.session.id,
        data=DocumentationGeneratedData(
            documentation_id=documentation.id,
            handoff_id=doc.handoff_id,
            version=version,
            generated_by=gen.generated_by,
            model=gen.model,
            content_markdown=gen.markdown,
            session_title=doc.session.title,
            psa_ticket_id=doc.session.psa_ticket_id,
            escalator=doc.escalator,
        ),
    )
    conn = await uow.connection()
    created_at = await conn.fetchval(
        STORE_GENERATION,
        documentation.id,
        doc.account_id,
        doc.session.id,
        doc.handoff_id,
        version,
        gen.markdown,
        gen.generated_by,
        gen.model,
        gen.input_tokens,
        gen.output_tokens,
        gen.latency_ms,
        gen.fallback_reason,
        uuid.uuid4(),
        json.dumps(gen.package_json()),
        *uow.outbox_args(event),
    )
    if created_at is None:
        return None
    documentation.created_at = created_at
    return documentation
