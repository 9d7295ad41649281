"""Session routes: list, create, read, steps, resume, resolve."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from flowpilot_shared.models import SessionStatus
from flowpilot_shared.web.auth import CurrentCaller, EngineerOrAdmin
from handoff_api.deps import Db, Settings, Uow, account_rate_limit
from handoff_api.sessions import service
from handoff_api.sessions.schemas import SessionCreate, SessionOut, SessionSummary, StepCreate, StepOut

router = APIRouter(prefix="/ai-sessions", tags=["sessions"], dependencies=[Depends(account_rate_limit)])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SessionOut)
async def create_session(body: SessionCreate, caller: EngineerOrAdmin, uow: Uow) -> SessionOut:
    """Open a troubleshooting session owned by the caller."""
    return await service.create_session(uow=uow, caller=caller, body=body)


@router.get("", response_model=list[SessionSummary])
async def list_sessions(
    caller: CurrentCaller,
    db: Db,
    mine: Annotated[bool, Query(description="only sessions the caller owns now")] = False,
    statuses: Annotated[
        list[SessionStatus] | None, Query(alias="status", description="any of these statuses")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[SessionSummary]:
    """The account's sessions, most recently changed first."""
    return await service.list_sessions(db=db, caller=caller, mine=mine, statuses=statuses or [], limit=limit)


@router.get("/{session_id}", response_model=SessionOut)
async def read_session(session_id: uuid.UUID, caller: CurrentCaller, uow: Uow) -> SessionOut:
    """A session with its steps."""
    return await service.read_session(session=uow.session, caller=caller, session_id=session_id)


@router.post("/{session_id}/steps", status_code=status.HTTP_201_CREATED, response_model=StepOut)
async def add_step(
    session_id: uuid.UUID, body: StepCreate, caller: CurrentCaller, uow: Uow, settings: Settings
) -> StepOut:
    """Add a step (the session's current owner only; at most `max_steps_per_session`)."""
    return await service.add_step(
        uow=uow, caller=caller, session_id=session_id, body=body, max_steps=settings.max_steps_per_session
    )


@router.post("/{session_id}/resume", response_model=SessionOut)
async def resume(session_id: uuid.UUID, caller: CurrentCaller, uow: Uow) -> SessionOut:
    """Take a parked session back."""
    return await service.resume(uow=uow, caller=caller, session_id=session_id)


@router.post("/{session_id}/resolve", response_model=SessionOut)
async def resolve(session_id: uuid.UUID, caller: CurrentCaller, uow: Uow) -> SessionOut:
    """Resolve the session."""
    return await service.resolve(uow=uow, caller=caller, session_id=session_id)
