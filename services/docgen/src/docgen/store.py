"""Writes a generation (package + documentation, one version) and stages `documentation.generated`."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from docgen.content import DocInput, Generation
from flowpilot_shared.events import DocumentationGenerated, DocumentationGeneratedData
from flowpilot_shared.models.documentation import Documentation, EscalationPackage
from flowpilot_shared.unit_of_work import UnitOfWork


async def is_documented(session: AsyncSession, handoff_id: object) -> bool:
    """Whether any documentation exists for this handoff already."""
    found = await session.execute(
        select(Documentation.id).where(Documentation.handoff_id == handoff_id).limit(1)
    )
    return found.first() is not None


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


async def store_generation(uow: UnitOfWork, doc: DocInput, gen: Generation, *, version: int) -> Documentation:
    """Insert both rows at `version` and stage the event; raises IntegrityError if the version exists."""
    session = uow.session
    session.add(
        EscalationPackage(
            account_id=doc.account_id,
            session_id=doc.session.id,
            handoff_id=doc.handoff_id,
            version=version,
            content=gen.package_json(),
            generated_by=gen.generated_by,
            model=gen.model,
        )
    )
    documentation = Documentation(
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
    session.add(documentation)
    # Flush now: a concurrent replica's row surfaces as IntegrityError here, before the event is staged.
    await session.flush()
    uow.add_event(
        DocumentationGenerated(
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
    )
    return documentation


def is_unique_violation(exc: IntegrityError) -> bool:
    """True for a duplicate key (another writer got there first), not for e.g. a missing session."""
    return getattr(exc.orig, "sqlstate", None) == "23505"
