"""Checks the relay tests wait on, and a relay whose pass can be held."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import asyncpg
from sqlalchemy import func, select

from flowpilot_shared.broker.publisher import Publisher
from flowpilot_shared.db import Database
from flowpilot_shared.models import OutboxEvent
from flowpilot_shared.outbox.relay import OutboxRelay
from tests.harness.broker import Captured


class GatedRelay(OutboxRelay):
    """The pass carrying the gated row waits until the gate opens: before publishing, or with
    `hold_confirm` after publishing, as for a late confirm (the broker has routed the row)."""

    def __init__(self, *, gated: uuid.UUID, hold_confirm: bool = False, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.gated = gated
        self.hold_confirm = hold_confirm
        self.waiting = asyncio.Event()
        self.gate = asyncio.Event()

    async def held(self) -> bool:
        """Whether the gated row's pass is waiting at the gate (a probe for `wait_until`)."""
        return self.waiting.is_set()

    async def _hold(self) -> None:
        self.waiting.set()
        await self.gate.wait()

    async def _publish_in_session_order(
        self, publisher: Publisher, rows: Sequence[asyncpg.Record]
    ) -> list[BaseException | None]:
        held = any(row["id"] == self.gated for row in rows)
        if held and not self.hold_confirm:
            await self._hold()
        results = await super()._publish_in_session_order(publisher, rows)
        if held and self.hold_confirm:
            await self._hold()
        return results


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
