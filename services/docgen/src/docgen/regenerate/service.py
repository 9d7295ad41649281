"""Regenerate: the current session and steps from the database, a new version for the latest escalation."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from docgen.content import DocInput
from docgen.generation import Generator
from docgen.metrics import GENERATIONS
from docgen.store import next_version, store_generation
from flowpilot_shared.db import Database
from flowpilot_shared.events import UserRef
from flowpilot_shared.models import AiSession, Handoff, User
from flowpilot_shared.models.documentation import Documentation
from flowpilot_shared.snapshots import session_snapshot, user_ref
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from flowpilot_shared.web.auth import Caller

VERSION_ATTEMPTS = 5


class NotFound(Exception):
    """No such session in the caller's account."""


class VersionContention(Exception):
    """Other regenerations took every version this one tried (it may be retried)."""


class Forbidden(Exception):
    """The caller may not regenerate this session's documentation."""


class NotEscalated(Exception):
    """The session has no escalation to document."""


class Throttled(Exception):
    """The session's documentation was regenerated too recently; `retry_after` seconds to wait."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"regenerated too recently; retry in {retry_after:.0f}s")
        self.retry_after = retry_after


# One row per session: a regeneration takes the slot only when the last one is old enough (the row
# lock makes concurrent requests take turns, so exactly one of them gets it). $3: the interval.
TAKE_SLOT_SQL = """
INSERT INTO documentation_regenerations AS r (session_id, account_id) VALUES ($1, $2)
ON CONFLICT (session_id) DO UPDATE SET requested_at = now()
WHERE r.requested_at <= now() - make_interval(secs => $3)
RETURNING requested_at
"""
SLOT_WAIT_SQL = """
SELECT extract(epoch FROM requested_at + make_interval(secs => $2) - now())
FROM documentation_regenerations WHERE session_id = $1
"""


async def take_slot(db: Database, *, account_id: uuid.UUID, session_id: uuid.UUID, interval: float) -> None:
    """Count a regeneration of the session now; `Throttled` when the last one was under `interval` ago."""
    if interval <= 0:
        return
    async with db.driver() as conn:
        if await conn.fetchval(TAKE_SLOT_SQL, session_id, account_id, interval) is not None:
            return
        wait = await conn.fetchval(SLOT_WAIT_SQL, session_id, interval)
    raise Throttled(max(float(wait or 0.0), 0.0))


async def _user_ref(
    session: AsyncSession, account_id: uuid.UUID, user_id: uuid.UUID | None
) -> UserRef | None:
    if user_id is None:
        return None
    user = (
        await session.execute(select(User).where(User.id == user_id, User.account_id == account_id))
    ).scalar_one_or_none()
    return None if user is None else user_ref(user)


async def load_doc_input(db: Database, *, caller: Caller, session_id: uuid.UUID) -> DocInput:
    """The redacted input for `session_id` as it is now; checks tenancy and permission."""
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(AiSession).where(AiSession.id == session_id, AiSession.account_id == caller.account_id)
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFound
        may = caller.is_owner_or_admin or (caller.id == row.owner_id and caller.is_engineer_or_admin)
        if not may:
            raise Forbidden
        handoff = (
            await session.execute(
                select(Handoff)
                .where(Handoff.session_id == row.id, Handoff.account_id == caller.account_id)
                .where(Handoff.intent == "escalate")
                .order_by(Handoff.created_at.desc(), Handoff.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if handoff is None:
            raise NotEscalated
        snapshot = await session_snapshot(session, row)
        escalator = await _user_ref(session, caller.account_id, handoff.from_user_id)
        # Whoever holds it now: the claimer once claimed, else the named target, else the queue.
        next_owner = await _user_ref(session, caller.account_id, handoff.claimed_by or handoff.target_user_id)
    return DocInput.build(
        account_id=caller.account_id,
        handoff_id=handoff.id,
        session=snapshot,
        reason=handoff.reason,
        escalator=escalator,
        next_owner=next_owner,
    )


async def regenerate(
    db: Database, generator: Generator, *, caller: Caller, session_id: uuid.UUID, min_interval: float
) -> Documentation:
    """Generate again and store it as the next version; the model call runs outside the transaction.

    At most one regeneration per session every `min_interval` seconds (`Throttled` otherwise),
    counted once the caller may regenerate it: nobody else can use up the session's turn.
    """
    doc = await load_doc_input(db, caller=caller, session_id=session_id)
    await take_slot(db, account_id=caller.account_id, session_id=doc.session.id, interval=min_interval)
    generation = await generator.generate(doc)
    for _ in range(VERSION_ATTEMPTS):
        async with OrmUnitOfWork(db.sessions) as uow:
            version = await next_version(uow.session, doc.handoff_id)
            documentation = await store_generation(uow, doc, generation, version=version)
            if documentation is None:
                continue  # two regenerations at once: the loser takes the next number
            await uow.commit()
        GENERATIONS.labels(generation.generated_by).inc()
        return documentation
    raise VersionContention(f"no free version after {VERSION_ATTEMPTS} attempts")
