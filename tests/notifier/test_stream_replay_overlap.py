"""Stream replay at its edges: relay passes that overlap, and events marked while a stream binds."""

from __future__ import annotations

from sqlalchemy import func, select, text, update

from flowpilot_shared.models import OutboxEvent
from notifier.stream.replay import format_position, plan_replay
from tests.harness.broker import capture
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.sse import open_stream
from tests.harness.waiting import wait_until
from tests.shared.outbox_checks import GatedRelay, all_marked, published


async def _replayed_after(db, team, event) -> list[str]:  # type: ignore[no-untyped-def]
    """The event ids a client resuming from `event`'s SSE id is sent, in order."""
    async with db.sessions() as session:
        row = (await session.execute(select(OutboxEvent).where(OutboxEvent.id == event.id))).scalar_one()
        plan = await plan_replay(
            session,
            account_id=team.account.id,
            user_id=team.owner.id,
            last_event_id=format_position(row.txid, row.seq),
            limit=100,
        )
    assert plan.reset_reason is None
    return [e.event_id for e in plan.events]


async def test_replay_after_a_late_pass_includes_what_went_out_beside_it(db, amqp, core_settings):
    captured = await capture(amqp, "handoff.escalated")
    team = await make_team(db, engineers=1)
    before, first, second = [await make_escalation(db, team, escalator=team.users[1]) for _ in range(3)]
    relay = GatedRelay(gated=first.id, hold_confirm=True, db=db, settings=core_settings, name="test")
    await commit_events(db, before)
    await relay.start()
    try:
        await wait_until(lambda: all_marked(db, [before.id]), message="the earlier event marked")
        await commit_events(db, first)
        # `first` has gone out; its pass waits for its confirm.
        await wait_until(relay.held, message="the first pass held")
        assert await published(captured, first.id)
        await commit_events(db, second)
        # The next pass runs beside it: `second` goes out after `first` and is marked before it.
        await wait_until(lambda: all_marked(db, [second.id]), message="the second event marked")
        assert not await all_marked(db, [first.id])
        relay.gate.set()
        await wait_until(lambda: all_marked(db, [first.id]), message="the first event marked")
    finally:
        relay.gate.set()
        await relay.stop()
    order = [m.message_id for m in captured.messages if m.message_id in {str(first.id), str(second.id)}]
    assert order == [str(first.id), str(second.id)]

    # A client that saw `first` live may have dropped before `second` reached it.
    assert await _replayed_after(db, team, first) == [str(second.id)]
    # From earlier on, both come back in the order they went out, not the order they were marked.
    assert await _replayed_after(db, team, before) == [str(first.id), str(second.id)]


async def test_resuming_from_the_ready_id_misses_nothing_marked_while_the_stream_bound(
    notifier, http, db, token_for, monkeypatch
):
    team = await make_team(db, engineers=1)
    before, during = [await make_escalation(db, team, escalator=team.users[1]) for _ in range(2)]
    await commit_events(db, before)
    await wait_until(lambda: all_marked(db, [before.id]), message="the earlier event marked")
    bind = notifier.hub.subscribe

    async def bind_then_publish(**kwargs):  # type: ignore[no-untyped-def]
        # An event goes out (and its pass ends) just after this stream is bound: it is on its way
        # to the client, which may drop before it arrives.
        subscriber = await bind(**kwargs)
        await commit_events(db, during)
        await wait_until(lambda: all_marked(db, [during.id]), message="the event marked")
        return subscriber

    monkeypatch.setattr(notifier.hub, "subscribe", bind_then_publish)
    url = notifier.url("ai-sessions/escalations/stream")
    async with open_stream(http, url, headers=token_for(team.owner)) as stream:
        ready = await stream.wait_event("ready")
    monkeypatch.undo()
    async with open_stream(
        http, url, headers={**token_for(team.owner), "Last-Event-ID": ready.id}
    ) as resumed:
        await resumed.wait_event("handoff_created", where=lambda d: d["event_id"] == str(during.id))
    assert resumed.events[0].event == "ready" and resumed.events[0].json()["resumed"] is True


async def test_replay_from_an_event_published_again_after_a_crash_misses_nothing(db):
    """A relay killed after publishing `seen` but before marking it: the next relay publishes and
    marks it again, later than `other`, which went out through another relay meanwhile."""
    team = await make_team(db, engineers=1)
    seen, other = [await make_escalation(db, team, escalator=team.users[1]) for _ in range(2)]
    await commit_events(db, seen, other)
    async with db.sessions() as session, session.begin():
        marked_now = {"published_at": func.now(), "publish_started_at": func.now()}
        await session.execute(update(OutboxEvent).where(OutboxEvent.id == other.id).values(**marked_now))
        a_second_later = func.now() + text("interval '1 second'")
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == seen.id)
            .values(published_at=a_second_later, publish_started_at=a_second_later)
        )
    # The client saw `seen` from the first relay; `other` may not have reached it.
    assert await _replayed_after(db, team, seen) == [str(other.id)]
