"""Park, escalate (also the legacy `/escalate`), handoff history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.events import (
    HandoffEscalated,
    HandoffEscalatedData,
    HandoffParked,
    HandoffParkedData,
    SessionSnapshot,
    StepSnapshot,
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
    Urgency,
)
from flowpilot_shared.security.tokens import TokenClaims
from flowpilot_shared.snapshots import user_ref_from
from flowpilot_shared.unit_of_work import DriverUnitOfWork
from flowpilot_shared.web.auth import Caller, inactive_caller
from handoff_api.errors import Conflict, Forbidden, InvalidField, NotFound
from handoff_api.handoffs import sql
from handoff_api.handoffs.schemas import (
    DocumentationStatus,
    HandoffOut,
    LegacyEscalateResponse,
    PsaResultStatus,
)
from handoff_api.sessions.service import SESSION_NOT_FOUND, get_session

NOT_ESCALATABLE = frozenset(
    {SessionStatus.escalated, SessionStatus.requesting_escalation, SessionStatus.resolved}
)
NOT_PARKABLE = NOT_ESCALATABLE | {SessionStatus.parked}
_ROLES = [str(r) for r in ENGINEER_OR_ADMIN]


def _check_target(
    caller_id: uuid.UUID, target_user_id: uuid.UUID | None, row: asyncpg.Record, field: str
) -> None:
    if target_user_id is None:
        return
    if target_user_id == caller_id:
        raise InvalidField(field, "You cannot hand a session off to yourself")
    if row["t_id"] is None:
        raise InvalidField(field, "The target must be an active engineer or admin of this account")


def _check_transition(status: str, intent: HandoffIntent) -> None:
    refused = NOT_ESCALATABLE if intent == HandoffIntent.escalate else NOT_PARKABLE
    if status in refused:
        verb = "escalated" if intent == HandoffIntent.escalate else "parked"
        raise Conflict(f"Session is {status} and cannot be {verb}")


def _snapshot(row: asyncpg.Record, session_id: uuid.UUID, status: SessionStatus) -> SessionSnapshot:
    steps = zip(
        row["step_ids"] or (),
        row["step_kinds"] or (),
        row["step_contents"] or (),
        row["step_authors"] or (),
        row["step_created"] or (),
        strict=True,
    )
    return SessionSnapshot(
        id=session_id,
        title=row["title"],
        problem=row["problem"],
        client_name=row["client_name"],
        psa_ticket_id=row["psa_ticket_id"],
        status=status,
        owner_id=row["owner_id"],
        created_at=row["created_at"],
        steps=[StepSnapshot(id=i, kind=k, content=c, author_id=a, created_at=t) for i, k, c, a, t in steps],
    )


def _recipients(row: asyncpg.Record) -> list[UserRef]:
    """Everyone an untargeted escalation notifies: active owners, admins, engineers but the escalator."""
    people = zip(
        row["r_ids"] or (), row["r_names"] or (), row["r_emails"] or (), row["r_roles"] or (), strict=True
    )
    return [UserRef(id=i, name=n, email=e, role=r) for i, n, e, r in people]


# A handoff whose session changed between its read and its write reads again, this many times at most.
HANDOFF_ATTEMPTS = 5


@dataclass(frozen=True)
class HandOff:
    """The command: park or escalate a session as the user the request's token names."""

    claims: TokenClaims
    session_id: uuid.UUID
    intent: HandoffIntent
    reason: str
    target_user_id: uuid.UUID | None
    urgency: Urgency = Urgency.normal
    # The request field a bad target is reported on (the legacy body names it differently).
    target_field: str = "target_user_id"


async def hand_off(*, uow: DriverUnitOfWork, command: HandOff) -> HandoffOut:
    """Park or escalate a session (owner only); the handoff row, the session and the event commit as one.

    The hot path, so two driver-level statements and no transaction block: one read of the caller
    (this request's authentication) and of everything the checks and the event need, then one
    statement writing the handoff, the session and the outbox row, only if the session is still as
    read (else it is read and checked again).
    """
    for _ in range(HANDOFF_ATTEMPTS):
        handoff = await _try_hand_off(uow, command)
        if handoff is not None:
            return handoff
    raise Conflict("The session kept changing while it was being handed off; try again")


async def _try_hand_off(uow: DriverUnitOfWork, command: HandOff) -> HandoffOut | None:
    """One read, checks and guarded write; None when the session changed in between (nothing written)."""
    row = await _read_checked(uow, command)
    handoff, event = _handoff_and_event(command, row, now=datetime.now(UTC))
    write = sql.HandoffWrite(
        handoff_id=handoff.id,
        account_id=command.claims.account_id,
        session_id=command.session_id,
        intent=str(command.intent),
        reason=command.reason,
        caller_id=command.claims.user_id,
        target_user_id=command.target_user_id,
        now=handoff.created_at,
        version=row["version"],
        urgency=str(command.urgency),
    )
    statement = sql.WRITE_ESCALATE if command.intent == HandoffIntent.escalate else sql.WRITE_PARK
    written = await uow.commit_statement(statement, *write.args(), *uow.outbox_args(event))
    return handoff if written else None


async def _read_checked(uow: DriverUnitOfWork, command: HandOff) -> asyncpg.Record:
    """The caller, the session and everything the event needs, in one read; refusals raised here."""
    claims, target_user_id = command.claims, command.target_user_id
    row = await uow.conn.fetchrow(
        sql.READ,
        command.session_id,
        claims.account_id,
        target_user_id,
        claims.user_id,
        _ROLES,
        command.intent == HandoffIntent.escalate and target_user_id is None,
    )
    if row is None:
        raise inactive_caller()
    if row["s_id"] is None:
        raise NotFound(SESSION_NOT_FOUND)
    if row["owner_id"] != claims.user_id:
        raise Forbidden("Only the session's owner can hand it off")
    _check_target(claims.user_id, target_user_id, row, command.target_field)
    _check_transition(row["status"], command.intent)
    return row


def _handoff_and_event(
    command: HandOff, row: asyncpg.Record, *, now: datetime
) -> tuple[HandoffOut, HandoffEscalated | HandoffParked]:
    """The response body (the row is written after: no ORM instance for a row never loaded) and the
    event announcing it."""
    claims, session_id = command.claims, command.session_id
    handoff = HandoffOut(
        id=uuid.uuid4(),
        session_id=session_id,
        intent=command.intent,
        reason=command.reason,
        urgency=command.urgency,
        from_user_id=claims.user_id,
        target_user_id=command.target_user_id,
        created_at=now,
        claimed_at=None,
        claimed_by=None,
    )
    me = user_ref_from(row, "c_", user_id=claims.user_id)
    if command.intent != HandoffIntent.escalate:
        parked = HandoffParkedData(
            handoff_id=handoff.id,
            reason=command.reason,
            parked_at=now,
            session=_snapshot(row, session_id, SessionStatus.parked),
            parked_by=me,
        )
        return handoff, HandoffParked(account_id=claims.account_id, session_id=session_id, data=parked)
    target = user_ref_from(row, "t_") if command.target_user_id is not None else None
    data = HandoffEscalatedData(
        handoff_id=handoff.id,
        reason=command.reason,
        escalated_at=now,
        session=_snapshot(row, session_id, SessionStatus.escalated),
        escalator=me,
        target=target,
        recipients=[target] if target else _recipients(row),
        urgency=command.urgency,
    )
    return handoff, HandoffEscalated(account_id=claims.account_id, session_id=session_id, data=data)


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
    uow: DriverUnitOfWork,
    session: AsyncSession,
    claims: TokenClaims,
    session_id: uuid.UUID,
    reason: str,
    escalated_to_id: uuid.UUID | None,
) -> LegacyEscalateResponse:
    """The legacy `/escalate`: the same escalation as `/handoff`, answered in the old shape (read after)."""
    command = HandOff(
        claims=claims,
        session_id=session_id,
        intent=HandoffIntent.escalate,
        reason=reason,
        target_user_id=escalated_to_id,
        target_field="escalated_to_id",
    )
    handoff = await hand_off(uow=uow, command=command)
    # The handoff's read authenticated the caller: the session is read in the token's account.
    row = await get_session(session, caller=claims, session_id=session_id)
    return LegacyEscalateResponse(
        session_id=row.id,
        status=SessionStatus(row.status),
        handoff_id=handoff.id,
        # A new escalation's documentation is generated after the commit, never before.
        documentation=DocumentationStatus(status="pending"),
        psa_result=await _psa_status(session, row),
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
