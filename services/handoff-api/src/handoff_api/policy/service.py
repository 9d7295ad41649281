"""Read and set the account's escalation policy; a change re-plans the account's waiting escalations."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models import EscalationPolicy
from flowpilot_shared.models.lifecycle import DEFAULT_MAX_ROUNDS, DEFAULT_REESCALATE_AFTER_SECONDS
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from flowpilot_shared.web.auth import Caller
from handoff_api.policy.schemas import PolicyIn, PolicyOut
from handoff_api.policy.sql import TIMERS_CHANNEL

# Waiting escalations follow the new interval from when they last entered the queue or fired (a
# shorter one may make them due at once); the timer loops are told to plan again after the commit.
REPLAN_TIMERS = text(
    "UPDATE escalation_timers SET due_at = last_at + make_interval(secs => :seconds) "
    "WHERE account_id = :account_id"
)
WAKE_TIMERS = text(f"SELECT pg_notify('{TIMERS_CHANNEL}', '')")


def _out(row: EscalationPolicy | None) -> PolicyOut:
    if row is None:
        return PolicyOut(
            reescalate_after_seconds=DEFAULT_REESCALATE_AFTER_SECONDS, max_rounds=DEFAULT_MAX_ROUNDS
        )
    return PolicyOut(
        reescalate_after_seconds=row.reescalate_after_seconds,
        max_rounds=row.max_rounds,
        updated_at=row.updated_at,
    )


async def _policy(session: AsyncSession, caller: Caller) -> EscalationPolicy | None:
    return await session.scalar(
        select(EscalationPolicy).where(EscalationPolicy.account_id == caller.account_id)
    )


async def read_policy(*, session: AsyncSession, caller: Caller) -> PolicyOut:
    """The caller's account's policy."""
    return _out(await _policy(session, caller))


async def set_policy(*, uow: OrmUnitOfWork, caller: Caller, body: PolicyIn) -> PolicyOut:
    """Create or replace the account's policy and move its waiting escalations' due times to it."""
    values = {
        "reescalate_after_seconds": body.reescalate_after_seconds,
        "max_rounds": body.max_rounds,
        "updated_by": caller.id,
    }
    await uow.session.execute(
        insert(EscalationPolicy)
        .values(account_id=caller.account_id, **values)
        .on_conflict_do_update(index_elements=["account_id"], set_={**values, "updated_at": text("now()")})
    )
    await uow.session.execute(
        REPLAN_TIMERS, {"seconds": body.reescalate_after_seconds, "account_id": caller.account_id}
    )
    # Delivered at commit, to every replica's timer loop (a rare write: no need to keep it off the commit).
    await uow.session.execute(WAKE_TIMERS)
    await uow.commit()
    return _out(await _policy(uow.session, caller))
