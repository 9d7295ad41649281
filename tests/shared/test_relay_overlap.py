"""Relay passes overlap: one waiting for its confirms holds back its own sessions' rows, no others."""

from __future__ import annotations

import uuid

from tests.harness.broker import capture
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.shared.outbox_checks import GatedRelay, all_marked, published


async def test_a_slow_pass_delays_only_its_own_sessions(db, amqp, core_settings):
    captured = await capture(amqp, "handoff.escalated")
    team = await make_team(db)
    first = await make_escalation(db, team, escalator=team.users[1])
    other = await make_escalation(db, team, escalator=team.users[1])
    # A later event of the first one's session.
    later = first.model_copy(update={"id": uuid.uuid4()})
    relay = GatedRelay(gated=first.id, db=db, settings=core_settings, name="test")
    await commit_events(db, first)
    await relay.start()
    try:
        await wait_until(relay.held, message="the first row's pass waiting")
        await commit_events(db, other)
        await commit_events(db, later)
        # Another session's event goes out while the first pass still waits for its confirms.
        await wait_until(lambda: published(captured, other.id), message="the other session's event")
        assert not await published(captured, first.id)
        assert not await published(captured, later.id), "a session's later event overtook an earlier one"
        relay.gate.set()
        await wait_until(lambda: published(captured, later.id), message="the later event, after the gate")
        await wait_until(lambda: all_marked(db, [first.id, other.id, later.id]), message="all marked")
    finally:
        relay.gate.set()
        await relay.stop()
    order = [m.message_id for m in captured.messages if m.message_id in {str(first.id), str(later.id)}]
    assert order == [str(first.id), str(later.id)]
