"""Scenario 3: the relay dies between publishing and marking rows published: sent twice, done once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import asyncpg
import pytest
from sqlalchemy import func, select

from flowpilot_shared.broker.topology import ALL_QUEUES, declare_queue
from flowpilot_shared.db import asyncpg_dsn
from flowpilot_shared.models import OutboxEvent
from flowpilot_shared.outbox.relay import OutboxRelay
from tests.faults.accounting import settled
from tests.faults.direct import recipients, staged_escalations, wired_team
from tests.harness.broker import capture
from tests.harness.factories import commit_events
from tests.harness.waiting import wait_until

ESCALATIONS = 20


class RelayKilledBeforeMarking(RuntimeError):
    """Stands for the process dying after the broker confirmed, before the rows were marked."""


class CrashingRelay(OutboxRelay):
    """Publishes its batch with confirms, then dies before the transaction marking the rows commits."""

    async def _publish_in_session_order(self, publisher, rows: Sequence[asyncpg.Record]):  # type: ignore[no-untyped-def]
        results = await super()._publish_in_session_order(publisher, rows)
        assert all(r is None for r in results), results
        raise RelayKilledBeforeMarking(f"killed after publishing {len(rows)} rows")


@pytest.mark.faults
@pytest.mark.timeout(180)
async def test_relay_killed_between_publish_and_mark(system, db, amqp, core_settings):
    fakes = system.fakes
    team = await wired_team(db, core_settings, fakes)
    escalations, events = await staged_escalations(db, team, ESCALATIONS)
    event_ids = {str(e.id) for e in events}
    seen = await capture(amqp, "handoff.escalated")
    channel = await amqp.channel()
    for spec in ALL_QUEUES:  # the consumers are not up yet: their queues must already hold what is sent
        await declare_queue(channel, spec, core_settings.delivery_limit)
    await channel.close()

    await commit_events(db, *events)
    relay = CrashingRelay(db=db, settings=core_settings, name="doomed")
    conn = await asyncpg.connect(asyncpg_dsn(core_settings.database_url))
    try:
        with pytest.raises(RelayKilledBeforeMarking):
            while True:  # other tests' leftover rows may come first; run until our batch is sent
                await relay.publish_pending(conn)
    finally:
        await conn.close()
        await relay.stop()

    def copies() -> Counter[str]:
        return Counter(str(m.message_id) for m in seen.messages if str(m.message_id) in event_ids)

    await wait_until(lambda: len(copies()) == ESCALATIONS, timeout=10, message="first copies")
    async with db.sessions() as s:
        unmarked = await s.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.id.in_([e.id for e in events]), OutboxEvent.published_at.is_(None))
        )
    assert unmarked == ESCALATIONS, "the crash left every published row unmarked"

    # The consumers come up; their processes' relays find the unmarked rows and publish them again.
    system.start(["handoff-api", "notifier", "docgen", "psa-sync"])
    await wait_until(
        lambda: set(copies().values()) == {2},
        timeout=30,
        message="every escalation published a second time",
    )
    report = await settled(db, fakes, escalations, recipients(team), infra=system.infra, timeout=90)
    print(f"\nrelay crash, {ESCALATIONS} events each published twice:\n{report}")
    assert set(copies().values()) == {2}, copies()
