"""The account's unclaimed escalations: sessions awaiting pickup with their open escalation."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from flowpilot_shared.models import (
    AWAITING_PICKUP,
    AiSession,
    Handoff,
    HandoffIntent,
    SessionStatus,
    Urgency,
    User,
)
from flowpilot_shared.web.auth import Caller
from handoff_api.queue.schemas import Escalator, QueueCount, QueueItem

QUEUE_LIMIT = 500
_AWAITING = [str(s) for s in AWAITING_PICKUP]


def _awaiting(caller: Caller) -> tuple[ColumnElement[bool], ...]:
    return (AiSession.account_id == caller.account_id, AiSession.status.in_(_AWAITING))


async def _open_escalations(session: AsyncSession, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, Handoff]:
    """The latest unclaimed escalation of each session."""
    rows = await session.execute(
        select(Handoff)
        .where(
            Handoff.session_id.in_(session_ids),
            Handoff.intent == HandoffIntent.escalate,
            Handoff.claimed_at.is_(None),
        )
        .order_by(Handoff.created_at)
    )
    return {h.session_id: h for h in rows.scalars()}  # later rows overwrite: the latest wins


async def queue(*, session: AsyncSession, caller: Caller) -> list[QueueItem]:
    """Unclaimed escalations of the caller's account, oldest first (the queue is shared by seniors)."""
    sessions = list(
        (
            await session.execute(
                select(AiSession).where(*_awaiting(caller)).order_by(AiSession.updated_at).limit(QUEUE_LIMIT)
            )
        ).scalars()
    )
    if not sessions:
        return []
    handoffs = await _open_escalations(session, [s.id for s in sessions])
    people_ids = {h.from_user_id for h in handoffs.values()} | {s.owner_id for s in sessions}
    people = {u.id: u for u in (await session.execute(select(User).where(User.id.in_(people_ids)))).scalars()}
    items = []
    for s in sessions:
        h = handoffs.get(s.id)
        escalator = people[h.from_user_id if h else s.owner_id]
        items.append(
            QueueItem(
                session_id=s.id,
                handoff_id=h.id if h else None,
                title=s.title,
                status=SessionStatus(s.status),
                reason=(h.reason if h else s.escalation_reason) or "",
                urgency=Urgency(h.urgency) if h else Urgency.normal,
                escalated_by=Escalator(id=escalator.id, name=escalator.name),
                target_user_id=h.target_user_id if h else s.escalated_to_id,
                escalated_at=h.created_at if h else s.updated_at,
            )
        )
    items.sort(key=lambda i: (i.escalated_at, i.session_id))
    return items


async def count(*, session: AsyncSession, caller: Caller) -> QueueCount:
    """How many sessions await pickup (same filter as the queue)."""
    total = await session.scalar(select(func.count()).select_from(AiSession).where(*_awaiting(caller)))
    return QueueCount(count=int(total or 0))
