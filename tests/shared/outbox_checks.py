"""Checks the relay tests wait on."""

from __future__ import annotations

from sqlalchemy import func, select

from flowpilot_shared.db import Database
from flowpilot_shared.models import OutboxEvent
from tests.harness.broker import Captured


async def all_marked(db: Database, ids) -> bool:
    """Every row marked published (a pass marks its rows after the broker's confirms, so just after
    consumers can already see them)."""
    async with db.sessions() as session:
        pending = await session.scalar(
            select(func.count()).where(OutboxEvent.id.in_(list(ids)), OutboxEvent.published_at.is_(None))
        )
    return pending == 0


async def published(captured: Captured, event_id: object) -> bool:
    """Whether the captured messages include this event."""
    return any(m.message_id == str(event_id) for m in captured.messages)
