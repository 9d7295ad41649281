"""The outbox relay: commit then publish, never for a rolled-back write, never skipping late commits."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from sqlalchemy import delete, select, text

from flowpilot_shared.db import Database
from flowpilot_shared.models import OutboxEvent
from flowpilot_shared.outbox.relay import OutboxRelay
from flowpilot_shared.settings import CoreSettings
from flowpilot_shared.unit_of_work import DriverUnitOfWork, OrmUnitOfWork, outbox_args, outbox_sql
from tests.harness.broker import capture
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.shared.outbox_checks import all_marked, published, running


async def _stage(db: Database, count: int) -> list[uuid.UUID]:
    team = await make_team(db)
    ids = []
    for _ in range(count):
        event = await make_escalation(db, team, escalator=team.users[1])
        await commit_events(db, event)
        ids.append(event.id)
    return ids


async def test_relay_publishes_committed_event_with_envelope(db, amqp, core_settings: CoreSettings):
    captured = await capture(amqp)
    [event_id] = await _stage(db, 1)
    async with running(OutboxRelay(db=db, settings=core_settings, name="test")):
        await wait_until(lambda: published(captured, event_id), message="event published")
    [message] = [m for m in captured.messages if m.message_id == str(event_id)]
    body = json.loads(message.body)
    assert message.routing_key == "handoff.escalated"
    assert message.delivery_mode == 2 and message.content_type == "application/json"
    assert set(body) >= {"id", "type", "version", "occurred_at", "account_id", "session_id", "data"}
    assert body["version"] == 1 and body["id"] == str(event_id)


async def test_rolled_back_transaction_leaves_no_row_and_no_event(db, amqp, core_settings):
    captured = await capture(amqp)
    team = await make_team(db)
    event = await make_escalation(db, team, escalator=team.users[1])
    with pytest.raises(RuntimeError):
        async with OrmUnitOfWork(db.sessions) as uow:
            uow.add_event(event)
            await uow.session.flush()
            raise RuntimeError("failure after the outbox insert")
    [marker] = await _stage(db, 1)
    async with running(OutboxRelay(db=db, settings=core_settings, name="test")):
        await wait_until(lambda: published(captured, marker), message="later event published")
    async with db.sessions() as session:
        assert await session.get(OutboxEvent, event.id) is None
    assert not any(m.message_id == str(event.id) for m in captured.messages)


async def test_two_relays_publish_each_row_once(db, amqp, core_settings):
    captured = await capture(amqp)
    ids = set(await _stage(db, 500))
    relays = [OutboxRelay(db=db, settings=core_settings, name=f"r{i}") for i in range(2)]
    await asyncio.gather(*(r.start() for r in relays))
    try:
        await wait_until(lambda: _count(captured, ids, 500), timeout=60, message="all 500 published")
        await wait_until(lambda: all_marked(db, ids), timeout=30, message="every row marked published")
    finally:
        await asyncio.gather(*(r.stop() for r in relays))
    seen = [m.message_id for m in captured.messages if uuid.UUID(m.message_id) in ids]
    assert len(seen) == 500 and len(set(seen)) == 500


async def test_one_relay_is_active_and_a_standby_takes_over(db, amqp, core_settings):
    captured = await capture(amqp)
    first = OutboxRelay(db=db, settings=core_settings, name="first")
    second = OutboxRelay(db=db, settings=core_settings, name="second")
    await first.start()
    try:
        await wait_until(lambda: first.active, message="the first relay active")
        await second.start()
        [before] = await _stage(db, 1)
        await wait_until(lambda: published(captured, before), message="published by the active relay")
        assert first.active and not second.active  # one active relay: a NOTIFY wakes only it
        # A waiting standby must not pin the database's xmin horizon (a blocked lock statement
        # did, so VACUUM could remove nothing for as long as the active relay lived).
        await wait_until(lambda: _no_snapshot_held(db), message="no backend holding a snapshot")
        await first.stop()  # its lock goes with its connection
        await wait_until(lambda: second.active, message="the standby active")
        [after] = await _stage(db, 1)
        await wait_until(lambda: published(captured, after), message="published by the new active relay")
    finally:
        await asyncio.gather(first.stop(), second.stop())


async def _no_snapshot_held(db: Database) -> bool:
    async with db.sessions() as session:
        held = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL"
            )
        )
    return held == 0


async def _count(captured, ids, n) -> bool:
    return len({m.message_id for m in captured.messages if uuid.UUID(m.message_id) in ids}) >= n


async def test_row_committing_after_a_higher_sequence_is_still_published(db, amqp, core_settings):
    captured = await capture(amqp)
    team = await make_team(db)
    early = await make_escalation(db, team, escalator=team.users[1])
    late = await make_escalation(db, team, escalator=team.users[1])
    async with running(OutboxRelay(db=db, settings=core_settings, name="test")):
        async with DriverUnitOfWork(db) as slow:
            # Written mid-transaction, as the handoff hot path does: takes the lower sequence
            # number and stays uncommitted.
            await slow.conn.execute(outbox_sql(1), *outbox_args(early))
            async with OrmUnitOfWork(db.sessions) as fast:
                fast.add_event(late)
                await fast.commit()
            await wait_until(lambda: published(captured, late.id), message="later row published first")
            await slow.commit()
        await wait_until(lambda: published(captured, early.id), message="late-committing row published")
    async with db.sessions() as session:
        seqs = dict(
            (
                await session.execute(
                    text("SELECT id, seq FROM outbox WHERE id = ANY(:ids)"), {"ids": [early.id, late.id]}
                )
            ).all()
        )
    assert seqs[early.id] < seqs[late.id]


async def test_staged_events_are_written_at_commit_in_order(db):
    team = await make_team(db)
    template = await make_escalation(db, team, escalator=team.users[1])
    # Thousands of rows (more than one statement of bound parameters could take): all of them, in
    # the order they were staged.
    events = [template.model_copy(update={"id": uuid.uuid4()}) for _ in range(2005)]
    ids = [e.id for e in events]

    async def written() -> list[uuid.UUID]:
        async with db.sessions() as session:
            rows = await session.execute(
                select(OutboxEvent.id).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.seq)
            )
            return list(rows.scalars())

    async with OrmUnitOfWork(db.sessions) as uow:
        for event in events[:10]:
            uow.add_event(event)
        await uow.rollback()
    assert await written() == []
    try:
        async with OrmUnitOfWork(db.sessions) as uow:
            for event in events:
                uow.add_event(event, user_id=team.users[0].id)
            assert await written() == []  # staged, not written
            await uow.commit()
        assert await written() == ids
        async with db.sessions() as session:
            payload = await session.scalar(select(OutboxEvent.payload).where(OutboxEvent.id == ids[-1]))
        assert payload == json.loads(events[-1].model_dump_json())
    finally:
        # Never published: later tests' relays and consumers must not meet 2,000 stray escalations.
        async with db.sessions() as session:
            await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))
            await session.commit()


@pytest.mark.parametrize("writer", ["same process", "a process without a relay", "a standby replica"])
async def test_commit_wakes_the_active_relay_at_once(db, amqp, core_settings, writer):
    # The relay would poll only every 30 s: each row below can only go out this fast if its commit
    # woke the relay (directly in its own process, through the broker from a replica whose relay
    # stands by, by NOTIFY from a process with no relay: a tool).
    slow_poll = core_settings.model_copy(update={"outbox_poll_seconds": 30.0})
    captured = await capture(amqp)
    relay = OutboxRelay(db=db, settings=slow_poll, name="test")
    other = Database.from_settings(core_settings)
    writer_db = db if writer == "same process" else other
    standby = OutboxRelay(db=other, settings=slow_poll, name="test")
    await relay.start()
    try:
        await wait_until(lambda: relay.active, message="the relay active")
        if writer == "a standby replica":
            await standby.start()
        team = await make_team(db)
        for kind in ("orm", "driver"):
            event = await make_escalation(db, team, escalator=team.users[1])
            if kind == "orm":
                async with OrmUnitOfWork(writer_db.sessions) as uow:
                    uow.add_event(event)
                    await uow.commit()
            else:
                async with DriverUnitOfWork(writer_db) as duow:
                    await duow.conn.execute(outbox_sql(1), *duow.outbox_args(event))
                    await duow.commit()
            await wait_until(
                lambda e=event: published(captured, e.id), timeout=5, message=f"{kind} row published"
            )
        assert not standby.active
    finally:
        await asyncio.gather(standby.stop(), relay.stop())
        await other.dispose()
