"""`POST /accounts`: sign-up (no auth)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from handoff_api.accounts import service
from handoff_api.accounts.schemas import AccountOut, SignupRequest, SignupResponse
from handoff_api.auth.service import token_for
from handoff_api.deps import Db, Passwords, Settings, Uow
from handoff_api.throttles import service as throttles
from handoff_api.throttles.client import client_address, trusted_networks
from handoff_api.users.schemas import UserOut

router = APIRouter(tags=["accounts"])


@router.post("/accounts", status_code=status.HTTP_201_CREATED, response_model=SignupResponse)
async def sign_up(
    body: SignupRequest, request: Request, uow: Uow, db: Db, passwords: Passwords, settings: Settings
) -> SignupResponse:
    """Create an account with its owner; returns the owner's token (429 past the per-address limit)."""
    address = client_address(request, trusted_networks(settings.trusted_proxies))
    limits = throttles.signup_limits(
        address=address, per_address=settings.signups_per_address, window=settings.signup_window_seconds
    )
    await throttles.count_attempt(db=db, limits=limits)
    account, owner = await service.sign_up(uow=uow, passwords=passwords, body=body)
    return SignupResponse(
        account=AccountOut.model_validate(account),
        user=UserOut.model_validate(owner),
        access_token=token_for(owner, settings),
    )
