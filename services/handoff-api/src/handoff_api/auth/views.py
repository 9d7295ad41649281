"""`POST /auth/login`, `GET /auth/me`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from flowpilot_shared.web.auth import CurrentCaller
from handoff_api.auth import service
from handoff_api.auth.schemas import LoginRequest, LoginResponse
from handoff_api.deps import Settings, Uow, account_rate_limit, limit_key
from handoff_api.users.schemas import UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=LoginResponse)
async def login(body: LoginRequest, request: Request, uow: Uow, settings: Settings) -> LoginResponse:
    """Exchange email and password for a bearer token; 401 on bad credentials."""
    # Guessing passwords for one address is limited like an account's requests.
    limit_key(request, f"login:{body.email}")
    user = await service.login(session=uow.session, email=body.email, password=body.password)
    return LoginResponse(access_token=service.token_for(user, settings), user=UserOut.model_validate(user))


@router.get("/me", response_model=UserOut, dependencies=[Depends(account_rate_limit)])
async def me(caller: CurrentCaller, uow: Uow) -> UserOut:
    """The caller."""
    return UserOut.model_validate(await service.me(session=uow.session, caller=caller))
