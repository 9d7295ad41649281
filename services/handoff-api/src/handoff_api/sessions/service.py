"""Sessions: create, read, add steps, resume, resolve; snapshots for events."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.db import Database
from flowpilot_shared.events import (
    SessionResolved,
    SessionResolvedData,
)
from flowpilot_shared.models import AiSession, SessionStatus, SessionStep, User
from flowpilot_shared.security.tokens import TokenClaims
from flowpilot_shared.snapshots import session_snapshot, steps_of, user_ref
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from flowpilot_shared.web.auth import Caller
from handoff_api.errors import Conflict, Forbidden, InvalidField, NotFound
from handoff_api.reescalation.control import stop_timer
from handoff_api.sessions.schemas import SessionCreate, SessionOut, SessionSummary, StepCreate, StepOut

SESSION_NOT_FOUND = "Session not found"


async def get_session(
    session: AsyncSession, *, caller: Caller | TokenClaims, session_id: uuid.UUID, for_update: bool = False
) -> AiSession:
    """A session of the caller's account (404 for anyone else's); optionally row-locked."""
    query = select(AiSession).where(AiSession.id == session_id, AiSession.account_id == caller.account_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound(SESSION_NOT_FOUND)
    return row


# The session lists (a junior's sessions, "mine"), read again in every open console on each handoff
# event of the account: one self-committing statement selecting only what a row shows, its filters
# written out (not `$n IS NULL OR ...`) so that each shape gets a plan of its own.
_LIST_COLUMNS = "id, owner_id, title, client_name, psa_ticket_id, status, created_at, updated_at"


@functools.cache
def _list_sql(*, mine: bool, by_status: bool) -> str:
    where = ["account_id = $1"]
    if mine:
        where.append(f"owner_id = ${len(where) + 1}")
    if by_status:
        where.append(f"status = ANY(${len(where) + 1}::text[])")
    return (
        f"SELECT {_LIST_COLUMNS} FROM ai_sessions WHERE {' AND '.join(where)} "
        f"ORDER BY updated_at DESC, id LIMIT ${len(where) + 1}"
    )


async def list_sessions(
    *, db: Database, caller: Caller, mine: bool, statuses: list[SessionStatus], limit: int
) -> list[SessionSummary]:
    """The caller's account's sessions (or only the caller's own), most recently changed first."""
    args: list[object] = [caller.account_id]
    if mine:
        args.append(caller.id)
    if statuses:
        args.append([str(s) for s in statuses])
    async with db.driver() as conn:
        rows = await conn.fetch(_list_sql(mine=mine, by_status=bool(statuses)), *args, limit)
    return [SessionSummary.model_validate(dict(row)) for row in rows]


async def session_out(session: AsyncSession, row: AiSession) -> SessionOut:
    """The contract's session body: the row's columns of the same names, and its steps."""
    steps = [StepOut.model_validate(s) for s in await steps_of(session, row.id)]
    columns = {name: getattr(row, name) for name in SessionOut.model_fields if name != "steps"}
    return SessionOut(**columns, steps=steps)


async def load_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    """A user row known to exist (referenced by a foreign key)."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


async def refreshed(uow: OrmUnitOfWork, row: AiSession) -> SessionOut:
    """The committed session (server-set timestamps reloaded) as the contract's body."""
    await uow.session.refresh(row)
    return await session_out(uow.session, row)


async def create_session(*, uow: OrmUnitOfWork, caller: Caller, body: SessionCreate) -> SessionOut:
    """Open a session owned by the caller."""
    row = AiSession(
        id=uuid.uuid4(),
        account_id=caller.account_id,
        owner_id=caller.id,
        title=body.title,
        problem=body.problem,
        client_name=body.client_name,
        psa_ticket_id=body.psa_ticket_id,
        status=SessionStatus.active,
    )
    uow.session.add(row)
    await uow.session.flush()
    await uow.commit()
    return await refreshed(uow, row)


async def read_session(*, session: AsyncSession, caller: Caller, session_id: uuid.UUID) -> SessionOut:
    """A session of the caller's account with its steps."""
    return await session_out(session, await get_session(session, caller=caller, session_id=session_id))


async def add_step(
    *, uow: OrmUnitOfWork, caller: Caller, session_id: uuid.UUID, body: StepCreate, max_steps: int
) -> StepOut:
    """Record a step; only the session's current owner may, not on a resolved session, not past `max_steps`."""
    row = await get_session(uow.session, caller=caller, session_id=session_id, for_update=True)
    if row.owner_id != caller.id:
        raise Forbidden("Only the session's owner can add steps")
    if row.status == SessionStatus.resolved:
        raise Conflict("Session is resolved")
    # Counted under the session's row lock: concurrent additions cannot both take the last place.
    count = await uow.session.scalar(select(func.count()).where(SessionStep.session_id == row.id))
    if (count or 0) >= max_steps:
        raise InvalidField(
            "session_id",
            f"A session holds at most {max_steps} steps; start a new session to go on",
            location="path",
        )
    step = SessionStep(
        id=uuid.uuid4(), session_id=row.id, author_id=caller.id, kind=body.kind, content=body.content
    )
    uow.session.add(step)
    row.updated_at = datetime.now(UTC)
    await uow.session.flush()
    await uow.commit()
    await uow.session.refresh(step)
    return StepOut.model_validate(step)


async def resume(*, uow: OrmUnitOfWork, caller: Caller, session_id: uuid.UUID) -> SessionOut:
    """The owner takes a parked session back: status `active`."""
    row = await get_session(uow.session, caller=caller, session_id=session_id, for_update=True)
    if row.owner_id != caller.id:
        raise Forbidden("Only the session's owner can resume it")
    if row.status != SessionStatus.parked:
        raise Conflict(f"Only a parked session can be resumed (status is {row.status})")
    row.status = SessionStatus.active
    await uow.commit()
    return await refreshed(uow, row)


async def resolve(*, uow: OrmUnitOfWork, caller: Caller, session_id: uuid.UUID) -> SessionOut:
    """Close a session (its owner, or an owner/admin of the account) and announce it; no round fires after."""
    # The timer row before the session (reescalation.control's lock order).
    await stop_timer(uow.session, session_id=session_id, account_id=caller.account_id)
    row = await get_session(uow.session, caller=caller, session_id=session_id, for_update=True)
    if row.owner_id != caller.id and not caller.is_owner_or_admin:
        raise Forbidden("Only the session's owner or an admin can resolve it")
    if row.status == SessionStatus.resolved:
        raise Conflict("Session is already resolved")
    now = datetime.now(UTC)
    row.status = SessionStatus.resolved
    row.updated_at = now
    await uow.session.flush()
    resolver = await load_user(uow.session, caller.id)
    uow.add_event(
        SessionResolved(
            account_id=row.account_id,
            session_id=row.id,
            data=SessionResolvedData(
                resolved_at=now,
                resolved_by=user_ref(resolver),
                session=await session_snapshot(uow.session, row),
            ),
        )
    )
    await uow.commit()
    return await refreshed(uow, row)
