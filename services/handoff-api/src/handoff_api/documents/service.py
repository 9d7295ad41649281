"""Read-only views over docgen's and psa-sync's rows, scoped by the caller's account."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models import Documentation, EscalationPackage, Handoff, PsaPush
from flowpilot_shared.web.auth import Caller
from handoff_api.documents.schemas import (
    DocumentationOut,
    EscalationPackageOut,
    HandoffContext,
    PsaPushOut,
)
from handoff_api.errors import NotFound
from handoff_api.handoffs.schemas import HandoffOut
from handoff_api.sessions.service import get_session, session_out

Generated = TypeVar("Generated", Documentation, EscalationPackage)


async def _latest(
    session: AsyncSession, model: type[Generated], caller: Caller, session_id: uuid.UUID
) -> Generated | None:
    """The session's newest row of what docgen writes (a documentation, an escalation package)."""
    return (
        await session.execute(
            select(model)
            .where(model.session_id == session_id, model.account_id == caller.account_id)
            .order_by(model.created_at.desc(), model.version.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def handoff_context(*, session: AsyncSession, caller: Caller, session_id: uuid.UUID) -> HandoffContext:
    """The session, its latest handoff, and the latest escalation package and documentation if ready."""
    row = await get_session(session, caller=caller, session_id=session_id)
    handoff = (
        await session.execute(
            select(Handoff)
            .where(Handoff.session_id == row.id, Handoff.account_id == caller.account_id)
            .order_by(Handoff.created_at.desc(), Handoff.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    package = await _latest(session, EscalationPackage, caller, row.id)
    documentation = await _latest(session, Documentation, caller, row.id)
    return HandoffContext(
        session=await session_out(session, row),
        handoff=HandoffOut.model_validate(handoff) if handoff else None,
        escalation_package=EscalationPackageOut.model_validate(package) if package else None,
        documentation=DocumentationOut.model_validate(documentation) if documentation else None,
    )


async def documentation(*, session: AsyncSession, caller: Caller, session_id: uuid.UUID) -> DocumentationOut:
    """The latest documentation of the session; 404 until docgen has written it."""
    await get_session(session, caller=caller, session_id=session_id)
    row = await _latest(session, Documentation, caller, session_id)
    if row is None:
        raise NotFound("Documentation not ready")
    return DocumentationOut.model_validate(row)


async def psa_pushes(*, session: AsyncSession, caller: Caller, session_id: uuid.UUID) -> list[PsaPushOut]:
    """Every push of the session's documentation onto its PSA ticket, oldest first."""
    await get_session(session, caller=caller, session_id=session_id)
    rows = await session.execute(
        select(PsaPush)
        .where(PsaPush.session_id == session_id, PsaPush.account_id == caller.account_id)
        .order_by(PsaPush.created_at, PsaPush.id)
    )
    return [
        PsaPushOut(
            provider=p.provider,
            ticket_id=p.ticket_id,
            status=p.status,
            external_note_id=p.external_note_id,
            attempts=p.attempts,
            last_error=p.last_error,
            updated_at=p.updated_at,
        )
        for p in rows.scalars()
    ]
