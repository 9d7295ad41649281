"""`POST /accounts`: sign-up (no auth)."""

from __future__ import annotations

from fastapi import APIRouter, status

from handoff_api.accounts import service
from handoff_api.accounts.schemas import AccountOut, SignupRequest, SignupResponse
from handoff_api.auth.service import token_for
from handoff_api.deps import Settings, Uow
from handoff_api.users.schemas import UserOut

router = APIRouter(tags=["accounts"])


@router.post("/accounts", status_code=status.HTTP_201_CREATED, response_model=SignupResponse)
async def sign_up(body: SignupRequest, uow: Uow, settings: Settings) -> SignupResponse:
    """Create an account with its owner; returns the owner's token."""
    account, owner = await service.sign_up(uow=uow, body=body)
    return SignupResponse(
        account=AccountOut.model_validate(account),
        user=UserOut.model_validate(owner),
        access_token=token_for(owner, settings),
    )
