"""Each service's relay publishes its own service's events; a standby's commit wakes its own partition's."""

from __future__ import annotations

import asyncio

import asyncpg

from flowpilot_shared.db import Database, asyncpg_dsn
from flowpilot_shared.events import DOMAIN_EVENT_TYPES, NotificationCreated, event_type
from flowpilot_shared.outbox.partitions import PARTITIONS, partition_for, partition_of
from flowpilot_shared.outbox.relay import OutboxRelay
from tests.harness.broker import capture
from tests.harness.factories import commit_events, documentation_event, make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.shared.outbox_checks import published

WRITERS = {
    "handoff-api": {
        "handoff.escalated",
        "handoff.parked",
        "handoff.claimed",
        "handoff.reescalated",
        "handoff.released",
        "session.resolved",
    },
    "notifier": {"notification.created"},
    "docgen": {"documentation.generated"},
    "psa-sync": {"psa.note_pushed", "psa.push_failed"},
}


def test_every_event_type_is_published_by_the_relay_of_the_service_that_writes_it():
    every_type = {*DOMAIN_EVENT_TYPES, event_type(NotificationCreated)}
    assert set().union(*WRITERS.values()) == every_type
    for service, types in WRITERS.items():
        partition = partition_for(service)
        assert {t for t in every_type if partition.includes(t)} == types, service
        assert all(partition_of(t) == partition for t in types)
    assert len({p.lock_key for p in PARTITIONS}) == len({p.channel for p in PARTITIONS}) == len(PARTITIONS)


async def _unpublished(db, event_ids) -> set[str]:
    async with db.driver() as conn:
        rows = await conn.fetch(
            "SELECT id FROM outbox WHERE id = ANY($1::uuid[]) AND published_at IS NULL", list(event_ids)
        )
    return {str(r["id"]) for r in rows}


async def test_a_relay_publishes_its_partition_only(db, core_settings):
    team = await make_team(db)
    escalated = await make_escalation(db, team, escalator=team.users[1])
    documented = documentation_event(escalated)
    await commit_events(db, escalated, documented)
    docgen = OutboxRelay(db=db, settings=core_settings, name="docgen")
    conn = await asyncpg.connect(asyncpg_dsn(core_settings.database_url))
    try:
        # Passes until docgen's row is out (other tests' leftover documentation may come first).
        for _ in range(50):
            if not await _unpublished(db, [documented.id]):
                break
            await docgen.publish_pending(conn)
        assert not await _unpublished(db, [documented.id]), "docgen's own row published"
        assert await _unpublished(db, [escalated.id]) == {str(escalated.id)}, (
            "handoff-api's row is not docgen's"
        )
    finally:
        await conn.close()
        await docgen.stop()


async def test_a_standby_wakes_its_own_partitions_relay_through_the_broker(db, amqp, core_settings):
    """Two docgen replicas: the one standing by commits, and the active one publishes at once, though
    it would poll only every 30 s. No NOTIFY goes out: each costs PostgreSQL a transaction in every
    listening backend."""
    slow_poll = core_settings.model_copy(update={"outbox_poll_seconds": 30.0})
    captured = await capture(amqp)
    replica = Database.from_settings(core_settings)
    active = OutboxRelay(db=db, settings=slow_poll, name="docgen")
    standby = OutboxRelay(db=replica, settings=slow_poll, name="docgen")
    heard: list[str] = []
    listener = await asyncpg.connect(asyncpg_dsn(core_settings.database_url))
    try:
        for partition in PARTITIONS:
            await listener.add_listener(
                partition.channel, lambda _c, _p, channel, _payload: heard.append(channel)
            )
        await active.start()
        await wait_until(lambda: active.active, message="the first docgen relay active")
        await standby.start()
        team = await make_team(db)
        escalated = await make_escalation(db, team, escalator=team.users[1])
        for _ in range(3):  # the first after a quiet spell, then those that follow
            documented = documentation_event(escalated)
            await commit_events(replica, documented)
            await wait_until(
                lambda e=documented: published(captured, e.id), timeout=5, message="published at once"
            )
        assert active.active and not standby.active
        await listener.fetchval("SELECT 1")  # any NOTIFY sent so far has been delivered by now
        assert heard == []
    finally:
        await asyncio.gather(standby.stop(), active.stop())
        await listener.close()
        await replica.dispose()
