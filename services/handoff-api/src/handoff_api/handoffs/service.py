"""Park, escalate (also the legacy `/escalate`), handoff history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.events import (
    HandoffEscalated,
    HandoffEscalatedData,
    HandoffParked,
    HandoffParkedData,
    UserRef,
)
from flowpilot_shared.models import (
    ENGINEER_OR_ADMIN,
    AiSession,
    Handoff,
    HandoffIntent,
    Integration,
    IntegrationKind,
    SessionStatus,
    User,
)
from flowpilot_shared.snapshots import session_snapshot, user_ref
from flowpilot_shared.unit_of_work import UnitOfWork
from flowpilot_shared.web.auth import Caller
from handoff_api.errors import Conflict, Forbidden, InvalidField
from handoff_api.handoffs.schemas import (
    DocumentationStatus,
    HandoffOut,
    LegacyEscalateResponse,
    PsaResultStatus,
)
from handoff_api.sessions.service import get_session
from handoff_api.users.service import active_engineer_or_admin

NOT_ESCALATABLE = frozenset(
    {SessionStatus.escalated, SessionStatus.requesting_escalation, SessionStatus.resolved}
)
NOT_PARKABLE = NOT_ESCALATABLE | {SessionStatus.parked}


async def _recipients(
    session: AsyncSession, *, account_id: uuid.UUID, escalator_id: uuid.UUID
) -> list[UserRef]:
    """Everyone an untargeted escalation notifies: active owners, admins, engineers but the escalator."""
    # Plain columns, not User entities: no identity-map work for what only becomes event data.
    rows = await session.execute(
        select(User.id, User.name, User.email, User.role)
        .where(
            User.account_id == account_id,
            User.id != escalator_id,
            User.is_active.is_(True),
            User.deleted_at.is_(None),
            User.role.in_([str(r) for r in ENGINEER_OR_ADMIN]),
        )
        .order_by(User.name, User.id)
    )
    return [UserRef(id=r.id, name=r.name, email=r.email, role=r.role) for r in rows]


async def _check_target(
    session: AsyncSession, *, caller: Caller, target_user_id: uuid.UUID | None, field: str
) -> User | None:
    if target_user_id is None:
        return None
    if target_user_id == caller.id:
        raise InvalidField(field, "You cannot hand a session off to yourself")
    target = await active_engineer_or_admin(session, account_id=caller.account_id, user_id=target_user_id)
    if target is None:
        raise InvalidField(field, "The target must be an active engineer or admin of this account")
    return target


def _check_transition(row: AiSession, intent: HandoffIntent) -> None:
    refused = NOT_ESCALATABLE if intent == HandoffIntent.escalate else NOT_PARKABLE
    if row.status in refused:
        verb = "escalated" if intent == HandoffIntent.escalate else "parked"
        raise Conflict(f"Session is {row.status} and cannot be {verb}")


async def hand_off(
    *,
    uow: UnitOfWork,
    caller: Caller,
    session_id: uuid.UUID,
    intent: HandoffIntent,
    reason: str,
    target_user_id: uuid.UUID | None,
    target_field: str = "target_user_id",
) -> Handoff:
    """Park or escalate a session (owner only); the handoff row, the session and the event commit as one."""
    row = await get_session(uow.session, caller=caller, session_id=session_id, for_update=True)
    if row.owner_id != caller.id:
        raise Forbidden("Only the session's owner can hand it off")
    target = await _check_target(
        uow.session, caller=caller, target_user_id=target_user_id, field=target_field
    )
    _check_transition(row, intent)
    now = datetime.now(UTC)
    handoff = Handoff(
        id=uuid.uuid4(),
        account_id=caller.account_id,
        session_id=row.id,
        intent=intent,
        reason=reason,
        from_user_id=caller.id,
        target_user_id=target.id if target else None,
        created_at=now,
    )
    uow.session.add(handoff)
    if intent == HandoffIntent.escalate:
        row.status = SessionStatus.escalated
        row.escalation_reason = reason
        row.escalated_to_id = handoff.target_user_id
        row.picked_up_by = None
    else:
        row.status = SessionStatus.parked
    row.updated_at = now
    await uow.session.flush()
    # The caller was loaded (active, this account) by authentication moments ago: no second query.
    me = UserRef(id=caller.id, name=caller.name, email=caller.email, role=caller.role)
    snap = await session_snapshot(uow.session, row)
    if intent == HandoffIntent.escalate:
        recipients: list[UserRef] = (
            [user_ref(target)]
            if target
            else await _recipients(uow.session, account_id=caller.account_id, escalator_id=caller.id)
        )
        data = HandoffEscalatedData(
            handoff_id=handoff.id,
            reason=reason,
            escalated_at=now,
            session=snap,
            escalator=me,
            target=user_ref(target) if target else None,
            recipients=recipients,
        )
        uow.add_event(HandoffEscalated(account_id=row.account_id, session_id=row.id, data=data))
    else:
        parked = HandoffParkedData(
            handoff_id=handoff.id, reason=reason, parked_at=now, session=snap, parked_by=me
        )
        uow.add_event(HandoffParked(account_id=row.account_id, session_id=row.id, data=parked))
    await uow.commit()
    return handoff


async def _psa_status(session: AsyncSession, row: AiSession) -> PsaResultStatus:
    if not row.psa_ticket_id:
        return PsaResultStatus(status="no_psa")
    configured = await session.execute(
        select(Integration.id).where(
            Integration.account_id == row.account_id, Integration.kind == IntegrationKind.psa
        )
    )
    return PsaResultStatus(status="pending" if configured.first() else "no_psa")


async def escalate_legacy(
    *,
    uow: UnitOfWork,
    caller: Caller,
    session_id: uuid.UUID,
    reason: str,
    escalated_to_id: uuid.UUID | None,
) -> LegacyEscalateResponse:
    """The legacy `/escalate`: the same escalation as `/handoff`, answered in the old shape."""
    handoff = await hand_off(
        uow=uow,
        caller=caller,
        session_id=session_id,
        intent=HandoffIntent.escalate,
        reason=reason,
        target_user_id=escalated_to_id,
        target_field="escalated_to_id",
    )
    row = await get_session(uow.session, caller=caller, session_id=session_id)
    return LegacyEscalateResponse(
        session_id=row.id,
        status=SessionStatus(row.status),
        handoff_id=handoff.id,
        # A new escalation's documentation is generated after the commit, never before.
        documentation=DocumentationStatus(status="pending"),
        psa_result=await _psa_status(uow.session, row),
    )


async def list_handoffs(*, session: AsyncSession, caller: Caller, session_id: uuid.UUID) -> list[HandoffOut]:
    """A session's handoffs, newest first."""
    await get_session(session, caller=caller, session_id=session_id)
    rows = await session.execute(
        select(Handoff)
        .where(Handoff.session_id == session_id, Handoff.account_id == caller.account_id)
        .order_by(Handoff.created_at.desc(), Handoff.id.desc())
    )
    return [HandoffOut.model_validate(h) for h in rows.scalars()]
