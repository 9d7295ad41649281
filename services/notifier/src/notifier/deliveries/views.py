"""`GET /notifications/deliveries`: the delivery ledger for owners and admins (mounted under /api/v1)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status

from flowpilot_shared.web.auth import OwnerOrAdmin
from notifier.deliveries.schemas import DeliveryOut
from notifier.deliveries.service import SessionNotFound, list_deliveries

router = APIRouter(tags=["notifications"])


@router.get("/notifications/deliveries", response_model=list[DeliveryOut])
async def get_deliveries(
    request: Request,
    caller: OwnerOrAdmin,
    session_id: Annotated[uuid.UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[DeliveryOut]:
    """Email, Slack and Teams delivery records of the caller's account, newest first."""
    async with request.app.state.db.sessions() as session:
        try:
            rows = await list_deliveries(
                session, account_id=caller.account_id, session_id=session_id, limit=limit
            )
        except SessionNotFound as exc:
            raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Session not found") from exc
    return [DeliveryOut.model_validate(row) for row in rows]
