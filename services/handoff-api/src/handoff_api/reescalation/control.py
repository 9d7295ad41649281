"""Stopping and restarting a session's re-escalation timer inside the change that decides it.

Lock order: the timer loop locks a timer row (FOR UPDATE SKIP LOCKED) before it reads or updates the
handoff, so a change that ends or restarts a timer touches the timer row before the handoff too:
whoever holds the timer first goes first, and neither ever waits on a lock the other holds.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models import EscalationTimer
from handoff_api.policy.sql import start_timer_sql

_RESTART = text(start_timer_sql(session=":session_id", handoff=":handoff_id", account=":account_id"))


async def stop_timer(session: AsyncSession, *, session_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """End the session's timer (a claim, a resolve): no round fires for it any more.

    Run first in the change's transaction (see the lock order above); a change refused later rolls
    it back with everything else.
    """
    await session.execute(
        delete(EscalationTimer).where(
            EscalationTimer.session_id == session_id, EscalationTimer.account_id == account_id
        )
    )


async def restart_timer(
    session: AsyncSession, *, session_id: uuid.UUID, handoff_id: uuid.UUID, account_id: uuid.UUID
) -> None:
    """Start the session's timer afresh (a release): due one interval from now, rounds from 1 again."""
    await session.execute(
        _RESTART, {"session_id": session_id, "handoff_id": handoff_id, "account_id": account_id}
    )
