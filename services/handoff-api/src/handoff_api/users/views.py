"""`/users`: teammates (owner/admin manage them)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Response, status

from flowpilot_shared.web.auth import CurrentCaller, OwnerOrAdmin
from handoff_api.deps import Passwords, Uow, account_rate_limit
from handoff_api.users import service
from handoff_api.users.schemas import UserCreate, UserOut, UserPatch

router = APIRouter(prefix="/users", tags=["users"], dependencies=[Depends(account_rate_limit)])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def create_user(body: UserCreate, caller: OwnerOrAdmin, uow: Uow, passwords: Passwords) -> UserOut:
    """Add a teammate; 409 when the email is taken."""
    user = await service.create_user(uow=uow, passwords=passwords, caller=caller, body=body)
    return UserOut.model_validate(user)


@router.get("", response_model=list[UserOut])
async def list_users(caller: CurrentCaller, uow: Uow) -> list[UserOut]:
    """The caller's teammates."""
    users = await service.list_users(session=uow.session, caller=caller)
    return [UserOut.model_validate(u) for u in users]


@router.patch("/{user_id}", response_model=UserOut)
async def update_user(user_id: uuid.UUID, body: UserPatch, caller: OwnerOrAdmin, uow: Uow) -> UserOut:
    """Change a teammate's role or activity."""
    user = await service.update_user(uow=uow, caller=caller, user_id=user_id, body=body)
    return UserOut.model_validate(user)


@router.delete(
    "/{user_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, response_model=None
)
async def delete_user(user_id: uuid.UUID, caller: OwnerOrAdmin, uow: Uow) -> Response:
    """Soft-delete a teammate."""
    await service.delete_user(uow=uow, caller=caller, user_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
