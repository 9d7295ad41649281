"""Pickup screen reads: handoff-context, documentation, psa-pushes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from flowpilot_shared.web.auth import CurrentCaller
from handoff_api.deps import Uow, account_rate_limit
from handoff_api.documents import service
from handoff_api.documents.schemas import DocumentationOut, HandoffContext, PsaPushOut

router = APIRouter(prefix="/ai-sessions", tags=["documents"], dependencies=[Depends(account_rate_limit)])


@router.get("/{session_id}/handoff-context", response_model=HandoffContext)
async def handoff_context(session_id: uuid.UUID, caller: CurrentCaller, uow: Uow) -> HandoffContext:
    """Session, latest handoff, escalation package and documentation (null until ready)."""
    return await service.handoff_context(session=uow.session, caller=caller, session_id=session_id)


@router.get("/{session_id}/documentation", response_model=DocumentationOut)
async def documentation(session_id: uuid.UUID, caller: CurrentCaller, uow: Uow) -> DocumentationOut:
    """The latest documentation; 404 until ready."""
    return await service.documentation(session=uow.session, caller=caller, session_id=session_id)


@router.get("/{session_id}/psa-pushes", response_model=list[PsaPushOut])
async def psa_pushes(session_id: uuid.UUID, caller: CurrentCaller, uow: Uow) -> list[PsaPushOut]:
    """Where the documentation's PSA ticket notes stand."""
    return await service.psa_pushes(session=uow.session, caller=caller, session_id=session_id)
