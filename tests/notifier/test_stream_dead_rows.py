"""A stream replay never sends an outbox row set aside as dead: it never went out (issue 24, item 9)."""

from __future__ import annotations

from sqlalchemy import update

from flowpilot_shared.models import OutboxEvent
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.notifier.test_stream_replay_overlap import _replayed_after


async def test_replay_leaves_out_dead_rows_but_not_rows_still_pending(db):
    team = await make_team(db, engineers=1)
    seen, dead, pending = [await make_escalation(db, team, escalator=team.users[1]) for _ in range(3)]
    await commit_events(db, seen, dead, pending)
    async with db.sessions() as session, session.begin():
        # No relay here: the client saw `seen`; `dead` was set aside; `pending` may be on its way.
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == seen.id)
            .values(published_at=OutboxEvent.created_at, publish_started_at=OutboxEvent.created_at)
        )
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.id == dead.id).values(dead_at=OutboxEvent.created_at)
        )
    try:
        assert await _replayed_after(db, team, seen) == [str(pending.id)]
    finally:
        async with db.sessions() as session, session.begin():
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([dead.id, pending.id]))
                .values(published_at=OutboxEvent.created_at, dead_at=None)
            )
