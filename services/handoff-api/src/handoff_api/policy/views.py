"""`GET/PUT /escalation-policy` (owner/admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from flowpilot_shared.web.auth import OwnerOrAdmin
from handoff_api.deps import Uow, account_rate_limit
from handoff_api.policy import service
from handoff_api.policy.schemas import PolicyIn, PolicyOut

router = APIRouter(
    prefix="/escalation-policy", tags=["escalation policy"], dependencies=[Depends(account_rate_limit)]
)


@router.get("", response_model=PolicyOut)
async def read_policy(caller: OwnerOrAdmin, uow: Uow) -> PolicyOut:
    """How often an unclaimed escalation notifies again, and how many rounds before owners are told."""
    return await service.read_policy(session=uow.session, caller=caller)


@router.put("", response_model=PolicyOut)
async def set_policy(body: PolicyIn, caller: OwnerOrAdmin, uow: Uow) -> PolicyOut:
    """Set the policy; escalations waiting now follow it from their last round."""
    return await service.set_policy(uow=uow, caller=caller, body=body)
