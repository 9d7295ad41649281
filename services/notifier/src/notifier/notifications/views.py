"""`/notifications*`: any authenticated user's own bell notifications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict

from flowpilot_shared.unit_of_work import OrmUnitOfWork
from flowpilot_shared.web.auth import CurrentCaller
from notifier.notifications import service

router = APIRouter(prefix="/notifications", tags=["notifications"])


class NotificationOut(BaseModel):
    """One bell row as the front end shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    type: str
    title: str
    body: str
    link: str | None
    session_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    """A page of notifications and the user's unread count."""

    items: list[NotificationOut]
    unread_count: int


class UnreadCount(BaseModel):
    """The bell badge."""

    count: int


class Updated(BaseModel):
    """How many rows changed."""

    updated: int


def _uow(request: Request) -> OrmUnitOfWork:
    return OrmUnitOfWork(request.app.state.db.sessions)


@router.get("", response_model=NotificationList)
async def list_notifications(
    request: Request,
    caller: CurrentCaller,
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationList:
    """The caller's notifications, newest first, with the unread count."""
    async with request.app.state.db.driver() as conn:
        rows, count = await service.list_notifications(
            conn, account_id=caller.account_id, user_id=caller.id, unread_only=unread_only, limit=limit
        )
    return NotificationList(items=[NotificationOut.model_validate(dict(r)) for r in rows], unread_count=count)


@router.get("/unread-count", response_model=UnreadCount)
async def unread_count(request: Request, caller: CurrentCaller) -> UnreadCount:
    """How many of the caller's notifications are unread."""
    async with request.app.state.db.driver() as conn:
        count = await service.unread_count(conn, account_id=caller.account_id, user_id=caller.id)
    return UnreadCount(count=count)


@router.post("/read-all", response_model=Updated)
async def read_all(request: Request, caller: CurrentCaller) -> Updated:
    """Mark every notification of the caller read."""
    async with _uow(request) as uow:
        updated = await service.mark_all_read(uow.session, account_id=caller.account_id, user_id=caller.id)
        await uow.commit()
    return Updated(updated=updated)


@router.post("/{notification_id}/read", response_model=NotificationOut)
async def read_one(request: Request, caller: CurrentCaller, notification_id: uuid.UUID) -> NotificationOut:
    """Mark one of the caller's notifications read; someone else's answers 404."""
    async with _uow(request) as uow:
        row = await service.mark_read(
            uow.session, account_id=caller.account_id, user_id=caller.id, notification_id=notification_id
        )
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Notification not found")
        await uow.commit()
        return NotificationOut.model_validate(row)
