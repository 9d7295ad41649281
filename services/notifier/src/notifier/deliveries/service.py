"""Reading the delivery ledger, scoped by account."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models.notifications import Delivery
from flowpilot_shared.models.sessions import AiSession


class SessionNotFound(LookupError):
    """The session does not exist in the caller's account (answered 404, never 403)."""


async def list_deliveries(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    session_id: uuid.UUID | None = None,
    limit: int = 200,
) -> list[Delivery]:
    """The account's delivery records (of one session when given), newest first."""
    if session_id is not None:
        owned = await session.scalar(
            select(AiSession.id).where(AiSession.id == session_id, AiSession.account_id == account_id)
        )
        if owned is None:
            raise SessionNotFound(str(session_id))
    query = select(Delivery).where(Delivery.account_id == account_id)
    if session_id is not None:
        query = query.where(Delivery.session_id == session_id)
    query = query.order_by(Delivery.created_at.desc(), Delivery.updated_at.desc(), Delivery.id).limit(limit)
    return list((await session.execute(query)).scalars())
