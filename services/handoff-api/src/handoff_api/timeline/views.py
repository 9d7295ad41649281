"""`GET /ai-sessions/{id}/timeline`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from flowpilot_shared.web.auth import CurrentCaller
from handoff_api.deps import Db, account_rate_limit
from handoff_api.timeline import service
from handoff_api.timeline.schemas import TimelineItem

router = APIRouter(prefix="/ai-sessions", tags=["timeline"], dependencies=[Depends(account_rate_limit)])


@router.get("/{session_id}/timeline", response_model=list[TimelineItem])
async def timeline(session_id: uuid.UUID, caller: CurrentCaller, db: Db) -> list[TimelineItem]:
    """Steps, handoffs, claims, releases, rounds, deliveries, documentation and PSA notes, oldest first."""
    return await service.timeline(db=db, caller=caller, session_id=session_id)
