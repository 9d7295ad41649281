"""The SSE stream: access, event shapes, tenancy, heartbeats, Last-Event-ID replay and reset."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select

from flowpilot_shared.models import OutboxEvent
from tests.harness.broker import publish_raw
from tests.harness.factories import commit_events, documentation_event, make_escalation, make_team
from tests.harness.sse import open_stream
from tests.harness.waiting import wait_until
from tests.notifier.conftest import (
    bell_rows,
    claimed_event,
    serve_notifier,
)

STREAM = "ai-sessions/escalations/stream"


async def test_ready_first_then_handoff_created(notifier, http, db, token_for):
    team = await make_team(db, engineers=2)
    async with open_stream(http, notifier.url(STREAM), headers=token_for(team.owner)) as stream:
        headers = stream.response.headers
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["cache-control"] == "no-cache" and headers["x-accel-buffering"] == "no"
        await stream.wait_event("ready")
        event = await make_escalation(db, team, escalator=team.users[1])
        await commit_events(db, event)
        created = await stream.wait_event("handoff_created")
    assert stream.events[0].event == "ready"
    data = created.json()
    assert data["session_id"] == str(event.session_id) and data["handoff_id"] == str(event.data.handoff_id)
    assert data["reason"] == event.data.reason and data["status"] == "escalated"
    assert created.id and created.id.count(".") == 1


async def test_unreadable_messages_are_skipped_and_the_stream_goes_on(notifier, http, db, token_for, amqp):
    team = await make_team(db, engineers=2)
    async with open_stream(http, notifier.url(STREAM), headers=token_for(team.owner)) as stream:
        await stream.wait_event("ready")
        # Ahead of a real escalation on the replica's queue: a body that is not JSON, one of the wrong shape.
        for body in (b'{"id": "not json at all', b'{"type": "handoff.escalated", "data": {"x": 1}}'):
            await publish_raw(amqp, "handoff.escalated", body, message_id=str(uuid.uuid4()))
        event = await make_escalation(db, team, escalator=team.users[1])
        await commit_events(db, event)
        await stream.wait_event("handoff_created")
    created = [e.json()["handoff_id"] for e in stream.events if e.event == "handoff_created"]
    assert created == [str(event.data.handoff_id)]


async def test_access_engineer_or_admin_only(notifier, http, db, token_for):
    team = await make_team(db, engineers=1, viewers=1)
    viewer = team.users[2]
    refused = await http.get(notifier.url(STREAM), headers=token_for(viewer))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Engineer or admin access required"
    assert (await http.get(notifier.url(STREAM))).status_code == 401
    bad = await http.get(notifier.url(STREAM), headers={"Authorization": "Bearer forged"})
    assert bad.status_code == 401


async def test_other_tenant_receives_nothing(notifier, http, db, token_for):
    ours, theirs = await make_team(db, engineers=2), await make_team(db, engineers=1)
    url = notifier.url(STREAM)
    async with (
        open_stream(http, url, headers=token_for(ours.owner)) as our_stream,
        open_stream(http, url, headers=token_for(theirs.owner)) as their_stream,
    ):
        await our_stream.wait_event("ready")
        await their_stream.wait_event("ready")
        escalated = await make_escalation(db, ours, escalator=ours.users[1])
        await commit_events(db, escalated, claimed_event(escalated, claimer=ours.users[2], team=ours))
        await commit_events(db, documentation_event(escalated))
        await our_stream.wait_event("documentation_ready")
        marker = await make_escalation(db, theirs, escalator=theirs.users[1])
        await commit_events(db, marker)
        await their_stream.wait_event("handoff_created")
        await their_stream.wait_event("notification")
    assert {e.event for e in our_stream.events} >= {
        "handoff_created",
        "handoff_claimed",
        "documentation_ready",
    }
    theirs_seen = [e.json()["session_id"] for e in their_stream.events if e.event != "ready"]
    assert theirs_seen and set(theirs_seen) == {str(marker.session_id)}


async def test_reconnect_with_last_event_id_replays_exactly_what_was_missed(notifier, http, db, token_for):
    team = await make_team(db, engineers=2)
    me = team.users[1]  # the escalator: the events below give others bell rows, not me
    url = notifier.url(STREAM)
    async with open_stream(http, url, headers=token_for(me)) as stream:
        first = await make_escalation(db, team, escalator=me)
        await commit_events(db, first)
        seen = await stream.wait_event("handoff_created")
    missed = []
    for _ in range(3):
        escalated = await make_escalation(db, team, escalator=me)
        missed.append(escalated)
        await commit_events(db, escalated)
    # docgen writes documentation only after consuming the escalation, which was published by then;
    # documentation committed before that could go out first through docgen's own relay.
    await wait_until(lambda: _published(db, [e.id for e in missed]), message="escalations published")
    missed.append(documentation_event(missed[0]))
    await commit_events(db, missed[-1])
    missed.append(documentation_event(missed[1]))
    await commit_events(db, missed[-1])
    await wait_until(lambda: _published(db, [e.id for e in missed]), message="missed events published")

    expected = [str(e.id) for e in missed]
    async with open_stream(http, url, headers={**token_for(me), "Last-Event-ID": seen.id}) as resumed:
        await resumed.wait_for(lambda s: len(s.events) >= 6, message="ready + 5 replayed")
        later = await make_escalation(db, team, escalator=me)
        await commit_events(db, later)
        await resumed.wait_event("handoff_created", where=lambda d: d["event_id"] == str(later.id))
    names = [e.event for e in resumed.events]
    assert names[0] == "ready" and resumed.events[0].json()["resumed"] is True
    replayed = [e.json()["event_id"] for e in resumed.events[1:6]]
    assert replayed == expected
    assert names[1:6] == ["handoff_created"] * 3 + ["documentation_ready"] * 2
    ids_after_ready = [e.json()["event_id"] for e in resumed.events[1:]]
    assert ids_after_ready == [*expected, str(later.id)]  # live after replay, nothing twice

    # The query parameter works like the header (for clients that cannot set it).
    async with open_stream(http, f"{url}?last_event_id={seen.id}", headers=token_for(me)) as by_query:
        await by_query.wait_for(lambda s: len(s.events) >= 7, message="ready + 6 replayed")
    assert [e.json()["event_id"] for e in by_query.events[1:]] == [*expected, str(later.id)]


async def _published(db, event_ids) -> bool:
    async with db.sessions() as session:
        rows = await session.execute(select(OutboxEvent.published_at).where(OutboxEvent.id.in_(event_ids)))
        values = [r.published_at for r in rows]
    return len(values) == len(event_ids) and all(values)


async def test_one_bell_push_per_escalation_each_recipient_sees_only_their_own_row(
    notifier, http, db, token_for
):
    team = await make_team(db, engineers=2)  # the owner and two engineers
    escalator = team.users[1]
    url = notifier.url(STREAM)
    async with (
        open_stream(http, url, headers=token_for(team.owner)) as owners,
        open_stream(http, url, headers=token_for(team.users[2])) as seniors,
    ):
        await owners.wait_event("ready")
        await seniors.wait_event("ready")
        escalated = await make_escalation(db, team, escalator=escalator)
        await commit_events(db, escalated)
        # The escalation went out before the bell push it caused: resuming from it replays the push.
        cursor = (await owners.wait_event("handoff_created")).id
        pushed = {
            person.id: (await stream.wait_event("notification")).json()
            for person, stream in ((team.owner, owners), (team.users[2], seniors))
        }
    rows = {row.user_id: row for row in await bell_rows(db, escalated.id)}
    assert set(rows) == {team.owner.id, team.users[2].id}
    for user_id, data in pushed.items():
        assert data["id"] == data["notification_id"] == str(rows[user_id].id)
        assert data["event_id"] and data["session_id"] == str(escalated.session_id)
    # Each stream got its own row once, and nobody else's.
    for stream in (owners, seniors):
        assert len([e for e in stream.events if e.event == "notification"]) == 1
    async with db.sessions() as session:
        pushes = (
            await session.execute(
                select(OutboxEvent.payload).where(
                    OutboxEvent.routing_key == "notification.created",
                    OutboxEvent.session_id == escalated.session_id,
                )
            )
        ).all()
    assert [len(p.payload["data"]["rows"]) for p in pushes] == [2]  # one push for both rows

    # A resume replays the owner's own row from that one push, not the other senior's.
    await wait_until(
        lambda: _published(db, [uuid.UUID(pushed[team.owner.id]["event_id"])]), message="published"
    )
    async with open_stream(http, url, headers={**token_for(team.owner), "Last-Event-ID": cursor}) as resumed:
        await resumed.wait_event("notification")
    replayed = [e.json()["id"] for e in resumed.events if e.event == "notification"]
    assert replayed == [str(rows[team.owner.id].id)]


async def test_malformed_or_expired_last_event_id_gets_reset(notifier, http, db, token_for):
    team = await make_team(db, engineers=1)
    url = notifier.url(STREAM)
    async with open_stream(http, url, headers=token_for(team.owner)) as stream:
        event = await make_escalation(db, team, escalator=team.users[1])
        await commit_events(db, event)
        seen = await stream.wait_event("handoff_created")
    async with db.sessions() as session, session.begin():
        await session.execute(delete(OutboxEvent).where(OutboxEvent.id == event.id))  # retention ran
    # Not a position at all, or a well-formed one no longer (or never) in the log.
    expected_reasons = {
        "garbage": "malformed_last_event_id",
        "-5.3": "malformed_last_event_id",
        "1.1": "last_event_id_expired",
        seen.id: "last_event_id_expired",
    }
    for last_id, reason in expected_reasons.items():
        async with open_stream(http, url, headers={**token_for(team.owner), "Last-Event-ID": last_id}) as s:
            reset = await s.wait_event("reset")
            assert [e.event for e in s.events[:2]] == ["ready", "reset"]
            assert reset.json()["reason"] == reason, last_id


async def test_heartbeat_comment_when_idle(notifier_settings, http, db, token_for):
    team = await make_team(db, engineers=1)
    settings = notifier_settings.model_copy(update={"sse_heartbeat_seconds": 0.2})
    async with (
        serve_notifier(settings) as notifier,
        open_stream(http, notifier.url(STREAM), headers=token_for(team.owner)) as stream,
    ):
        await stream.wait_for(lambda s: len(s.comments) >= 2, timeout=5, message="two heartbeats")
    assert [e.event for e in stream.events] == ["ready"]
    assert all(c.comment.startswith("ping") for c in stream.comments)
