"""The active relay's housekeeping: published rows past the retention go, nothing else does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from flowpilot_shared.events import EVENTS_EXCHANGE
from flowpilot_shared.models import OutboxEvent
from flowpilot_shared.outbox import housekeeping


async def test_retention_deletes_only_published_rows_older_than_it(db) -> None:
    now = datetime.now(UTC)
    ages = {
        "published long ago": (now - timedelta(hours=30), now - timedelta(hours=30)),
        "published recently": (now - timedelta(hours=30), now - timedelta(hours=1)),
        # Never published, however old: it still has to go out.
        "unpublished and old": (now - timedelta(hours=30), None),
    }
    ids = {name: uuid.uuid4() for name in ages}
    async with db.sessions() as session, session.begin():
        for name, (created, published) in ages.items():
            session.add(
                OutboxEvent(
                    id=ids[name],
                    exchange=EVENTS_EXCHANGE,
                    routing_key="test.retention",
                    payload={},
                    created_at=created,
                    published_at=published,
                )
            )
    try:
        await housekeeping.sweep_retention(db, hours=24)
        async with db.sessions() as session:
            kept = set(
                (
                    await session.execute(select(OutboxEvent.id).where(OutboxEvent.id.in_(ids.values())))
                ).scalars()
            )
        assert kept == {ids["published recently"], ids["unpublished and old"]}
    finally:
        async with db.sessions() as session, session.begin():
            await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids.values())))
