"""What the relay tests share: checks they wait on, rows they stage, a relay run for a block, a relay
whose pass can be held, a queue that refuses, and the operator's `flowpilot-admin outbox`."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import asyncpg
from aio_pika.abc import AbstractQueue, AbstractRobustConnection
from sqlalchemy import delete, func, select

from flowpilot_shared.broker.publisher import Publisher
from flowpilot_shared.db import Database
from flowpilot_shared.events import EVENTS_EXCHANGE, HandoffEscalated
from flowpilot_shared.models import OutboxEvent
from flowpilot_shared.outbox.relay import OutboxRelay
from flowpilot_shared.settings import CoreSettings
from tests.harness.admin import run_admin
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


async def outbox_cleared(db: Database) -> None:
    """Remove every row earlier tests of this worker left unpublished (dead ones too): this test's
    relay then publishes and counts only its own rows, and sends nothing of theirs to the queues."""
    async with db.sessions() as session, session.begin():
        await session.execute(delete(OutboxEvent).where(OutboxEvent.published_at.is_(None)))


async def published(captured: Captured, event_id: object) -> bool:
    """Whether the captured messages include this event."""
    return any(m.message_id == str(event_id) for m in captured.messages)


async def insert_raw_row(
    db: Database, *, routing_key: str, beside: HandoffEscalated, payload: dict[str, Any] | None = None
) -> uuid.UUID:
    """Commit a hand-made outbox row in `beside`'s account and session (ahead of its later events)."""
    row_id = uuid.uuid4()
    async with db.sessions() as session, session.begin():
        session.add(
            OutboxEvent(
                id=row_id,
                exchange=EVENTS_EXCHANGE,
                routing_key=routing_key,
                account_id=beside.account_id,
                session_id=beside.session_id,
                payload=payload or {},
            )
        )
    return row_id


async def outbox_row(db: Database, row_id: uuid.UUID) -> OutboxEvent:
    """The outbox row as it stands now."""
    async with db.sessions() as session:
        return (await session.execute(select(OutboxEvent).where(OutboxEvent.id == row_id))).scalar_one()


async def delete_rows(db: Database, ids: Iterable[uuid.UUID]) -> None:
    """Remove the rows a test left, so later relays and consumers of this worker never meet them."""
    async with db.sessions() as session, session.begin():
        await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(list(ids))))


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[OutboxRelay]:
    """The relay started for the block and stopped after it, whatever the block raised."""
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


@contextlib.asynccontextmanager
async def refusing_queue(amqp: AbstractRobustConnection, routing_key: str) -> AsyncIterator[AbstractQueue]:
    """A queue bound to `routing_key` that takes nothing: the broker nacks every publish routed to it
    until the test unbinds it (the operator "fixes the cause")."""
    channel = await amqp.channel()
    try:
        queue = await channel.declare_queue(
            exclusive=True, arguments={"x-max-length": 0, "x-overflow": "reject-publish"}
        )
        await queue.bind(EVENTS_EXCHANGE, routing_key=routing_key)
        yield queue
    finally:
        await channel.close()


def outbox_admin(settings: CoreSettings, *args: str) -> str:
    """`flowpilot-admin outbox ...` against this worker's database, as an operator runs it."""
    return run_admin("outbox", *args, env={"FLOWPILOT_DATABASE_URL": settings.database_url})
