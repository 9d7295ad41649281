"""The gauges added for the alerts: escalations past their policy's last round (handoff-api) and the
age of the oldest unpublished outbox row (the active relay).

Each count is read inside one REPEATABLE READ transaction that is rolled back: the test's own changes
are the only difference between two reads (other tests share the database), and nothing it does is
ever seen by a relay or a timer loop.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from prometheus_client import REGISTRY

from flowpilot_shared.db import Database
from flowpilot_shared.models.lifecycle import DEFAULT_MAX_ROUNDS
from flowpilot_shared.outbox import housekeeping
from handoff_api.handoffs import metrics
from handoff_api.reescalation.firing import fire_due
from tests.harness.api import api_settings, running_app
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until

LAST_ROUND_DUE = """
UPDATE escalation_timers SET rounds_fired = $2, due_at = now() - interval '1 day' WHERE session_id = $1
"""
OLD_ROW = """
INSERT INTO outbox (id, exchange, routing_key, payload, created_at)
VALUES ($1, 'flowpilot.events', 'test.oldest', '{}', now() - interval '1 day')
"""


@asynccontextmanager
async def rolled_back(db: Database) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a REPEATABLE READ transaction that is rolled back at the end, whatever happens."""
    async with db.driver() as conn:
        transaction = conn.transaction(isolation="repeatable_read")
        await transaction.start()
        try:
            yield conn
        finally:
            await transaction.rollback()


async def _past_last_round(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(metrics.PAST_LAST_ROUND_SQL, metrics._AWAITING))


async def test_an_escalation_counts_once_its_final_notice_fired_and_stops_counting_when_claimed(db: Database):
    team = await make_team(db)
    escalated = await make_escalation(db, team, escalator=team.users[1])
    async with rolled_back(db) as conn:
        before = await _past_last_round(conn)
        # The timer with its rounds spent, due before any other: the next firing is the final notice.
        await conn.execute(LAST_ROUND_DUE, escalated.session_id, DEFAULT_MAX_ROUNDS)
        assert await _past_last_round(conn) == before, "a timer still due is not past the last round"
        taken, _ = await fire_due(conn, limit=1)
        assert taken == 1
        final = await conn.fetchval(
            "SELECT payload->'data'->>'final' FROM outbox WHERE routing_key = 'handoff.reescalated' "
            "AND session_id = $1",
            escalated.session_id,
        )
        assert final == "true"
        assert await _past_last_round(conn) == before + 1
        await conn.execute(
            "UPDATE handoffs SET claimed_at = now(), claimed_by = $2 WHERE id = $1",
            escalated.data.handoff_id,
            team.owner.id,
        )
        assert await _past_last_round(conn) == before


def _counted() -> tuple[float] | None:
    """The gauge once something set it other than the test's -1 (a tuple: 0 escalations is a count)."""
    value = REGISTRY.get_sample_value("flowpilot_escalations_past_last_round")
    return (value,) if value is not None and value != -1 else None


async def test_handoff_api_refreshes_the_past_last_round_gauge_from_its_start(core_settings):
    metrics.PAST_LAST_ROUND.set(-1)  # no count is negative: any other value came from the query
    async with running_app(api_settings(core_settings)):
        [value] = await wait_until(_counted, timeout=10, message="handoff-api counted at start")
    assert value >= 0


async def test_the_oldest_unpublished_row_age_leaves_dead_rows_aside(db: Database):
    async with rolled_back(db) as conn:
        before = (await conn.fetchrow(housekeeping.BACKLOG_SQL))["oldest_seconds"]
        row_id = uuid.uuid4()
        await conn.execute(OLD_ROW, row_id)
        oldest = (await conn.fetchrow(housekeeping.BACKLOG_SQL))["oldest_seconds"]
        assert 86_400 <= oldest < 86_400 + 60
        await conn.execute("UPDATE outbox SET dead_at = now() WHERE id = $1", row_id)
        assert (await conn.fetchrow(housekeeping.BACKLOG_SQL))["oldest_seconds"] == before
        await conn.execute("UPDATE outbox SET dead_at = NULL, published_at = now() WHERE id = $1", row_id)
        assert (await conn.fetchrow(housekeeping.BACKLOG_SQL))["oldest_seconds"] == before


async def test_the_relay_housekeeping_sets_the_oldest_unpublished_gauge(db: Database):
    housekeeping.OLDEST_UNPUBLISHED.set(-1)
    await housekeeping.refresh_gauges(db)
    assert REGISTRY.get_sample_value("flowpilot_outbox_oldest_unpublished_seconds") >= 0
    housekeeping.clear_gauges()  # a standby reports nothing
    assert REGISTRY.get_sample_value("flowpilot_outbox_oldest_unpublished_seconds") == 0
