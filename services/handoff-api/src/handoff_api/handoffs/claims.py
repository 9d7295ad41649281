"""Claim and pickup: of N concurrent claims of one escalation exactly one wins (invariant 7)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.events import HandoffClaimed, HandoffClaimedData
from flowpilot_shared.models import AWAITING_PICKUP, AiSession, Handoff, HandoffIntent, SessionStatus, User
from flowpilot_shared.snapshots import user_ref
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from flowpilot_shared.web.auth import Caller
from handoff_api.errors import Conflict, NotFound
from handoff_api.handoffs.metrics import TIME_TO_PICKUP
from handoff_api.reescalation.control import stop_timer
from handoff_api.sessions.schemas import SessionOut
from handoff_api.sessions.service import get_session, load_user, refreshed
from handoff_api.timeline.entries import act_entry

HANDOFF_NOT_FOUND = "Handoff not found"
_AWAITING = [str(s) for s in AWAITING_PICKUP]
OPEN_ESCALATION = and_(Handoff.intent == HandoffIntent.escalate, Handoff.claimed_at.is_(None))


def session_handoffs(caller: Caller, session_id: uuid.UUID) -> ColumnElement[bool]:
    """The handoffs of session `session_id` in the caller's account (another tenant's are not found)."""
    return and_(Handoff.session_id == session_id, Handoff.account_id == caller.account_id)


async def _holder_conflict(session: AsyncSession, holder_id: uuid.UUID | None) -> Conflict:
    holder = await session.get(User, holder_id) if holder_id else None
    if holder is None:
        return Conflict("Already picked up")
    return Conflict(f"Already picked up by {holder.name}", claimed_by={"id": holder.id, "name": holder.name})


async def _why_not_claimed(
    session: AsyncSession, caller: Caller, row: AiSession, handoff_id: uuid.UUID
) -> None:
    handoff = (
        await session.execute(
            select(Handoff).where(Handoff.id == handoff_id, session_handoffs(caller, row.id))
        )
    ).scalar_one_or_none()
    if handoff is None:
        raise NotFound(HANDOFF_NOT_FOUND)
    if handoff.intent != HandoffIntent.escalate:
        raise Conflict("Only an escalation can be claimed")
    if handoff.claimed_at is not None:
        raise await _holder_conflict(session, handoff.claimed_by)
    raise Conflict(f"Session is {row.status} and not awaiting pickup")


def _picked_up_by(caller: Caller, now: datetime) -> dict[str, object]:
    """What a pickup writes on the session: the senior owns it now."""
    return {
        "owner_id": caller.id,
        "status": SessionStatus.picked_up,
        "picked_up_by": caller.id,
        "updated_at": now,
    }


async def _take_over(session: AsyncSession, *, row: AiSession, caller: Caller, now: datetime) -> None:
    for column, value in _picked_up_by(caller, now).items():
        setattr(row, column, value)
    await session.flush()


async def _wins_race(
    session: AsyncSession, model: type[Handoff | AiSession], *where: ColumnElement[bool], **values: object
) -> bool:
    """One conditional UPDATE decides a race: concurrent writers block on the row lock, then see the
    row changed and match nothing."""
    statement = (
        update(model)
        .where(*where)
        .values(**values)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(statement)).first() is not None


async def claim(
    *, uow: OrmUnitOfWork, caller: Caller, session_id: uuid.UUID, handoff_id: uuid.UUID
) -> Handoff:
    """Claim an open escalation: the claimer owns the session, status `picked_up`; 409 names the holder."""
    s = uow.session
    # First the timer row, then the handoff, then the session (reescalation.control's lock order).
    await stop_timer(s, session_id=session_id, account_id=caller.account_id)
    row = await get_session(s, caller=caller, session_id=session_id)
    now = datetime.now(UTC)
    won = await _wins_race(
        s,
        Handoff,
        Handoff.id == handoff_id,
        session_handoffs(caller, session_id),
        OPEN_ESCALATION,
        exists().where(AiSession.id == session_id, AiSession.status.in_(_AWAITING)),
        claimed_at=now,
        claimed_by=caller.id,
    )
    if not won:
        await _why_not_claimed(s, caller, row, handoff_id)
    handoff = await s.get(Handoff, handoff_id, populate_existing=True)
    assert handoff is not None
    await s.refresh(row, with_for_update=True)
    escalator = await load_user(s, handoff.from_user_id)
    await _take_over(s, row=row, caller=caller, now=now)
    claimer = await load_user(s, caller.id)
    waited = max((now - (handoff.queued_at or handoff.created_at)).total_seconds(), 0.0)
    s.add(
        act_entry(
            "claim", session=row, handoff_id=handoff.id, at=now, actor=claimer, waited_seconds=int(waited)
        )
    )
    uow.add_event(
        HandoffClaimed(
            account_id=row.account_id,
            session_id=row.id,
            data=HandoffClaimedData(
                handoff_id=handoff.id,
                claimed_at=now,
                session_title=row.title,
                claimer=user_ref(claimer),
                escalator=user_ref(escalator),
            ),
        )
    )
    await uow.commit()
    TIME_TO_PICKUP.observe(waited)
    return handoff


async def pickup(*, uow: OrmUnitOfWork, caller: Caller, session_id: uuid.UUID) -> SessionOut:
    """Pick up an `escalated` or legacy `requesting_escalation` session (claims its open escalation)."""
    s = uow.session
    row = await get_session(s, caller=caller, session_id=session_id)
    if row.status not in AWAITING_PICKUP:
        if row.status == SessionStatus.picked_up:
            raise await _holder_conflict(s, row.picked_up_by)
        raise Conflict(f"Session is {row.status} and not awaiting pickup")
    open_escalation = (
        await s.execute(
            select(Handoff.id)
            .where(session_handoffs(caller, session_id), OPEN_ESCALATION)
            .order_by(Handoff.created_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if open_escalation is not None:
        await claim(uow=uow, caller=caller, session_id=session_id, handoff_id=open_escalation)
        return await refreshed(uow, row)
    # A legacy session escalated without a handoff row: the status change alone decides the race.
    now = datetime.now(UTC)
    won = await _wins_race(
        s,
        AiSession,
        AiSession.id == session_id,
        AiSession.account_id == caller.account_id,
        AiSession.status.in_(_AWAITING),
        **_picked_up_by(caller, now),
    )
    if not won:
        await s.refresh(row)
        raise await _holder_conflict(s, row.picked_up_by)
    await uow.commit()
    return await refreshed(uow, row)
