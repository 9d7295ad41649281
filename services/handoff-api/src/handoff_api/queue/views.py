"""`GET /ai-sessions/queue` and `/queue/count` (engineer or admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from flowpilot_shared.web.auth import EngineerOrAdmin
from handoff_api.deps import Db, account_rate_limit
from handoff_api.queue import service
from handoff_api.queue.schemas import QueueCount, QueueItem

router = APIRouter(prefix="/ai-sessions", tags=["queue"], dependencies=[Depends(account_rate_limit)])


@router.get("/queue", response_model=list[QueueItem])
async def queue(caller: EngineerOrAdmin, db: Db) -> list[QueueItem]:
    """Unclaimed escalations of the account, oldest first."""
    return await service.queue(db=db, caller=caller)


@router.get("/queue/count", response_model=QueueCount)
async def queue_count(caller: EngineerOrAdmin, db: Db) -> QueueCount:
    """The number of unclaimed escalations."""
    return await service.count(db=db, caller=caller)
