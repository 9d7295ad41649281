"""`POST /auth/login`, `GET /auth/me`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from flowpilot_shared.web.auth import CurrentCaller
from handoff_api.auth import service
from handoff_api.auth.schemas import LoginRequest, LoginResponse
from handoff_api.deps import Db, Passwords, Settings, Uow, account_rate_limit
from handoff_api.throttles import service as throttles
from handoff_api.throttles.client import client_address, trusted_networks
from handoff_api.users.schemas import UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=LoginResponse)
async def login(
    body: LoginRequest, request: Request, db: Db, passwords: Passwords, settings: Settings
) -> LoginResponse:
    """Exchange email and password for a bearer token; 401 on bad credentials, 429 when guessing."""
    limits = throttles.login_limits(
        email=body.email,
        address=client_address(request, trusted_networks(settings.trusted_proxies)),
        per_email=settings.login_attempts_per_email,
        per_address=settings.login_attempts_per_address,
        window=settings.login_window_seconds,
    )
    # Counted before the password is checked: a refused guess costs no argon2 work.
    await throttles.count_attempt(db=db, limits=limits)
    user = await service.login(db=db, passwords=passwords, email=body.email, password=body.password)
    await throttles.forget_success(db=db, cleared_key=limits[0].key, relieved_key=limits[1].key)
    return LoginResponse(access_token=service.token_for(user, settings), user=UserOut.model_validate(user))


@router.get("/me", response_model=UserOut, dependencies=[Depends(account_rate_limit)])
async def me(caller: CurrentCaller, uow: Uow) -> UserOut:
    """The caller."""
    return UserOut.model_validate(await service.me(session=uow.session, caller=caller))
