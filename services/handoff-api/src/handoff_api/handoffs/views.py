"""Handoff routes: `/handoff`, `/handoffs`, claim, pickup and the legacy `/escalate`."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response, status

from flowpilot_shared.web.auth import CurrentCaller, EngineerOrAdmin, VerifiedClaims
from handoff_api.deps import Uow, account_rate_limit, handoff_uow
from handoff_api.handoffs import claims, release, service
from handoff_api.handoffs.schemas import (
    ClaimConflict,
    HandoffCreate,
    HandoffOut,
    LegacyEscalateRequest,
    LegacyEscalateResponse,
)
from handoff_api.sessions.schemas import SessionOut

router = APIRouter(prefix="/ai-sessions", tags=["handoffs"], dependencies=[Depends(account_rate_limit)])

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ClaimConflict, "description": "Already picked up"}
}


@router.post("/{session_id}/handoff", status_code=status.HTTP_201_CREATED, response_model=HandoffOut)
async def hand_off(
    session_id: uuid.UUID, body: HandoffCreate, claims: VerifiedClaims, request: Request
) -> Response:
    """Park or escalate the caller's session (the service checks the caller is active)."""
    command = service.HandOff(
        claims=claims,
        session_id=session_id,
        intent=body.intent,
        reason=body.reason,
        target_user_id=body.target_user_id,
        urgency=body.urgency,
    )
    async with handoff_uow(request) as uow:
        handoff = await service.hand_off(uow=uow, command=command)
    # The body the service built is already a valid HandoffOut: sent as is, not validated again.
    return Response(handoff.model_dump_json(), status.HTTP_201_CREATED, media_type="application/json")


@router.post("/{session_id}/escalate", response_model=LegacyEscalateResponse)
async def escalate_legacy(
    session_id: uuid.UUID,
    body: LegacyEscalateRequest,
    claims: VerifiedClaims,
    request: Request,
    reads: Uow,
) -> LegacyEscalateResponse:
    """Legacy escalation (same code path as `/handoff` with intent `escalate`)."""
    async with handoff_uow(request) as uow:
        return await service.escalate_legacy(
            uow=uow,
            session=reads.session,
            claims=claims,
            session_id=session_id,
            reason=body.escalation_reason,
            escalated_to_id=body.escalated_to_id,
        )


@router.get("/{session_id}/handoffs", response_model=list[HandoffOut])
async def list_handoffs(session_id: uuid.UUID, caller: CurrentCaller, uow: Uow) -> list[HandoffOut]:
    """The session's handoffs, newest first."""
    return await service.list_handoffs(session=uow.session, caller=caller, session_id=session_id)


@router.post("/{session_id}/handoffs/{handoff_id}/claim", response_model=HandoffOut, responses=_CONFLICT)
async def claim(
    session_id: uuid.UUID, handoff_id: uuid.UUID, caller: EngineerOrAdmin, uow: Uow
) -> HandoffOut:
    """Claim an escalation; exactly one of concurrent claimers wins."""
    handoff = await claims.claim(uow=uow, caller=caller, session_id=session_id, handoff_id=handoff_id)
    return HandoffOut.model_validate(handoff)


@router.post("/{session_id}/pickup", response_model=SessionOut, responses=_CONFLICT)
async def pickup(session_id: uuid.UUID, caller: EngineerOrAdmin, uow: Uow) -> SessionOut:
    """Pick up an escalated (or legacy requesting_escalation) session."""
    return await claims.pickup(uow=uow, caller=caller, session_id=session_id)


@router.post("/{session_id}/handoffs/{handoff_id}/release", response_model=HandoffOut)
async def release_handoff(
    session_id: uuid.UUID, handoff_id: uuid.UUID, caller: CurrentCaller, uow: Uow
) -> HandoffOut:
    """Hand a claimed escalation back to the queue (its claimer, or an owner/admin)."""
    handoff = await release.release(uow=uow, caller=caller, session_id=session_id, handoff_id=handoff_id)
    return HandoffOut.model_validate(handoff)
