"""`GET /analytics/escalations` (owner/admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from flowpilot_shared.web.auth import OwnerOrAdmin
from handoff_api.analytics import service
from handoff_api.analytics.schemas import EscalationStats
from handoff_api.deps import Uow, account_rate_limit

router = APIRouter(prefix="/analytics", tags=["analytics"], dependencies=[Depends(account_rate_limit)])


@router.get("/escalations", response_model=EscalationStats)
async def escalation_stats(
    caller: OwnerOrAdmin,
    uow: Uow,
    since: Annotated[datetime | None, Query(description="ISO 8601; default: 30 days before until")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601; default: now")] = None,
) -> EscalationStats:
    """Escalations created in the window: counts, re-escalated, time to pickup overall and per claimer."""
    return await service.escalation_stats(session=uow.session, caller=caller, since=since, until=until)
