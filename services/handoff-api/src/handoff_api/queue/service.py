"""The account's unclaimed escalations: sessions awaiting pickup with their open escalation."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from flowpilot_shared.models import (
    AWAITING_PICKUP,
    AiSession,
    EscalationPolicy,
    Handoff,
    HandoffIntent,
    SessionStatus,
    TimelineEntry,
    Urgency,
    User,
)
from flowpilot_shared.models.lifecycle import DEFAULT_MAX_ROUNDS
from flowpilot_shared.web.auth import Caller
from handoff_api.queue.schemas import Escalator, QueueCount, QueueItem, Reminders

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


async def _reminders(
    session: AsyncSession, caller: Caller, handoffs: dict[uuid.UUID, Handoff]
) -> dict[uuid.UUID, Reminders]:
    """The rounds fired for each queued escalation since it last entered the queue, from the newest
    round or release on its timeline (handoff-api writes both with the change they record)."""
    if not handoffs:
        return {}
    latest = await session.execute(
        select(TimelineEntry.handoff_id, TimelineEntry.kind, TimelineEntry.at, TimelineEntry.data)
        .where(
            TimelineEntry.account_id == caller.account_id,
            TimelineEntry.session_id.in_(list(handoffs)),
            TimelineEntry.handoff_id.in_([h.id for h in handoffs.values()]),
            TimelineEntry.kind.in_(("round", "release")),
        )
        .order_by(TimelineEntry.handoff_id, TimelineEntry.at.desc())
        .distinct(TimelineEntry.handoff_id)
    )
    rounds = [row for row in latest if row.kind == "round"]
    if not rounds:
        return {}
    max_rounds = await session.scalar(
        select(EscalationPolicy.max_rounds).where(EscalationPolicy.account_id == caller.account_id)
    )
    return {
        row.handoff_id: Reminders(
            round=row.data["round"],
            final=row.data["final"],
            max_rounds=max_rounds or DEFAULT_MAX_ROUNDS,
            at=row.at,
        )
        for row in rounds
    }


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
    reminders = await _reminders(session, caller, handoffs)
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
                reminders=reminders.get(h.id) if h else None,
            )
        )
    items.sort(key=lambda i: (i.escalated_at, i.session_id))
    return items


async def count(*, session: AsyncSession, caller: Caller) -> QueueCount:
    """How many sessions await pickup (same filter as the queue)."""
    total = await session.scalar(select(func.count()).select_from(AiSession).where(*_awaiting(caller)))
    return QueueCount(count=int(total or 0))
