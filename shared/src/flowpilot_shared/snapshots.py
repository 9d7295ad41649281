"""How events describe stored rows: the session snapshot with its steps, and people."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.events import SessionSnapshot, StepSnapshot, UserRef
from flowpilot_shared.models import AiSession, SessionStep, User


async def steps_of(session: AsyncSession, session_id: uuid.UUID) -> list[SessionStep]:
    """A session's steps in the order they were added."""
    rows = await session.execute(
        select(SessionStep).where(SessionStep.session_id == session_id).order_by(SessionStep.position)
    )
    return list(rows.scalars())


def snapshot_of(row: AiSession, steps: Iterable[SessionStep]) -> SessionSnapshot:
    """The session and the given steps as an event carries them."""
    return SessionSnapshot(
        id=row.id,
        title=row.title,
        problem=row.problem,
        client_name=row.client_name,
        psa_ticket_id=row.psa_ticket_id,
        status=row.status,
        owner_id=row.owner_id,
        created_at=row.created_at,
        steps=[
            StepSnapshot(
                id=s.id, kind=s.kind, content=s.content, author_id=s.author_id, created_at=s.created_at
            )
            for s in steps
        ],
    )


async def session_snapshot(session: AsyncSession, row: AiSession) -> SessionSnapshot:
    """The session with its stored steps, as an event carries it."""
    return snapshot_of(row, await steps_of(session, row.id))


def user_ref(user: User) -> UserRef:
    """How an event names a person."""
    return UserRef(id=user.id, name=user.name, email=user.email, role=user.role)


def user_ref_from(row: Mapping[str, Any], prefix: str = "", *, user_id: uuid.UUID | None = None) -> UserRef:
    """A person a query read as columns `{prefix}id`, `{prefix}name`, `{prefix}email`, `{prefix}role`
    (`user_id` when the id was the query's parameter rather than a column)."""
    return UserRef(
        id=user_id or row[f"{prefix}id"],
        name=row[f"{prefix}name"],
        email=row[f"{prefix}email"],
        role=row[f"{prefix}role"],
    )
