"""`/me/notification-preferences`: any signed-in person's own preferences (mounted under /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from flowpilot_shared.unit_of_work import OrmUnitOfWork
from flowpilot_shared.web.auth import CurrentCaller
from notifier.preferences import service
from notifier.preferences.schemas import NotificationPreferencesIn, NotificationPreferencesOut

router = APIRouter(prefix="/me/notification-preferences", tags=["preferences"])


@router.get("", response_model=NotificationPreferencesOut)
async def get_preferences(request: Request, caller: CurrentCaller) -> NotificationPreferencesOut:
    """The caller's time zone, quiet hours, email and chat-mention settings."""
    async with OrmUnitOfWork(request.app.state.db.sessions) as uow:
        prefs = await service.get_preferences(uow.session, account_id=caller.account_id, user_id=caller.id)
    return NotificationPreferencesOut.of(prefs)


@router.put("", response_model=NotificationPreferencesOut)
async def put_preferences(
    request: Request, caller: CurrentCaller, body: NotificationPreferencesIn
) -> NotificationPreferencesOut:
    """Replace the caller's preferences; the next email or chat message follows them."""
    async with OrmUnitOfWork(request.app.state.db.sessions) as uow:
        prefs = await service.put_preferences(
            uow=uow, account_id=caller.account_id, user_id=caller.id, prefs=body.to_preferences()
        )
    return NotificationPreferencesOut.of(prefs)
