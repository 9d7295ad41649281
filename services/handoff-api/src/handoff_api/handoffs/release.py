"""Release: the claimer (or an owner/admin) hands a claimed escalation back to the queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.events import HandoffReleased
from flowpilot_shared.lifecycle_contracts import HandoffReleasedData
from flowpilot_shared.models import AiSession, Handoff, HandoffIntent, SessionStatus
from flowpilot_shared.snapshots import user_ref
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from flowpilot_shared.web.auth import Caller
from handoff_api.errors import Conflict, Forbidden, NotFound
from handoff_api.handoffs.claims import HANDOFF_NOT_FOUND, session_handoffs
from handoff_api.reescalation.control import restart_timer
from handoff_api.sessions.service import get_session, load_user
from handoff_api.timeline.entries import act_entry

NOT_CLAIMED = "The escalation is not claimed: there is nothing to release"
NOT_ALLOWED = "Only the senior who claimed it, or an owner or admin, can release it"


async def _claimed_handoff(
    session: AsyncSession, caller: Caller, session_id: uuid.UUID, handoff_id: uuid.UUID
) -> Handoff:
    """The handoff row locked (before the session: the claim's lock order); 404 / 409 / 403 as due.

    Scoped by the caller's account: another tenant's session or handoff is not found.
    """
    handoff = (
        await session.execute(
            select(Handoff)
            .where(Handoff.id == handoff_id, session_handoffs(caller, session_id))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if handoff is None:
        raise NotFound(HANDOFF_NOT_FOUND)
    if handoff.intent != HandoffIntent.escalate or handoff.claimed_at is None or handoff.claimed_by is None:
        raise Conflict(NOT_CLAIMED)
    if handoff.claimed_by != caller.id and not caller.is_owner_or_admin:
        raise Forbidden(NOT_ALLOWED)
    return handoff


async def _check_current(session: AsyncSession, row: AiSession, handoff: Handoff) -> None:
    """409 unless the session is still picked up by this handoff's claimer, with no handoff since."""
    later = await session.scalar(
        select(exists().where(Handoff.session_id == row.id, Handoff.created_at > handoff.created_at))
    )
    if row.status != SessionStatus.picked_up or row.picked_up_by != handoff.claimed_by or later:
        raise Conflict(f"The session has moved on since this escalation was claimed (status {row.status})")


async def release(
    *, uow: OrmUnitOfWork, caller: Caller, session_id: uuid.UUID, handoff_id: uuid.UUID
) -> Handoff:
    """Unclaim the escalation: the session back to `escalated` and to the queue, owned by the
    escalator again, its re-escalation timer started afresh; announced as `handoff.released`."""
    s = uow.session
    handoff = await _claimed_handoff(s, caller, session_id, handoff_id)
    row = await get_session(s, caller=caller, session_id=session_id, for_update=True)
    await _check_current(s, row, handoff)
    assert handoff.claimed_by is not None
    claimer = await load_user(s, handoff.claimed_by)
    escalator = await load_user(s, handoff.from_user_id)
    releaser = await load_user(s, caller.id)
    now = datetime.now(UTC)
    handoff.claimed_at = None
    handoff.claimed_by = None
    handoff.queued_at = now
    row.status = SessionStatus.escalated
    row.owner_id = handoff.from_user_id
    row.picked_up_by = None
    row.updated_at = now
    await s.flush()
    await restart_timer(s, session_id=row.id, handoff_id=handoff.id, account_id=row.account_id)
    claimed_by = {"id": str(claimer.id), "name": claimer.name}
    s.add(
        act_entry("release", session=row, handoff_id=handoff.id, at=now, actor=releaser, claimer=claimed_by)
    )
    uow.add_event(
        HandoffReleased(
            account_id=row.account_id,
            session_id=row.id,
            data=HandoffReleasedData(
                handoff_id=handoff.id,
                released_at=now,
                released_by=user_ref(releaser),
                claimer=user_ref(claimer),
                escalator=user_ref(escalator),
                session_title=row.title,
                client_name=row.client_name,
                reason=handoff.reason,
                urgency=handoff.urgency,
                escalated_at=handoff.created_at,
            ),
        )
    )
    await uow.commit()
    return handoff
