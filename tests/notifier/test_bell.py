"""Bell notifications: who gets a row for what, exactly once, and the stream hears of it."""

from __future__ import annotations

import uuid

from prometheus_client import REGISTRY
from sqlalchemy import select, update

from flowpilot_shared.consumer import ALREADY_DONE, HandlerContext
from flowpilot_shared.models import Notification, OutboxEvent, User
from flowpilot_shared.unit_of_work import DriverUnitOfWork
from notifier.bell.handler import handle
from tests.harness.broker import publish_event
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.sse import open_stream
from tests.harness.waiting import wait_until
from tests.notifier.conftest import bell_rows, claimed_event, push_failed_event

STREAM = "ai-sessions/escalations/stream"


async def test_escalation_rows_for_active_seniors_only_and_streams_of_the_account(
    notifier, http, db, token_for
):
    team = await make_team(db, engineers=4, viewers=1, inactive=1)
    other = await make_team(db)
    owner, escalator, eng2, eng3, leaving = team.users[:5]
    viewer, inactive = team.users[5], team.users[6]
    event = await make_escalation(db, team, escalator=escalator)
    # Recipients as listed at commit time, plus people the notifier must refuse on its own: a viewer,
    # a deactivated engineer and another tenant's owner.
    stale = [team.ref(viewer), team.ref(inactive), other.ref(other.owner)]
    event = event.model_copy(
        update={"data": event.data.model_copy(update={"recipients": [*event.data.recipients, *stale]})}
    )
    assert {r.id for r in event.data.recipients} >= {owner.id, eng2.id, eng3.id, leaving.id}
    async with db.sessions() as session, session.begin():
        await session.execute(update(User).where(User.id == leaving.id).values(is_active=False))

    stream = notifier.url(STREAM)
    async with (
        open_stream(http, stream, headers=token_for(owner)) as owner_stream,
        open_stream(http, stream, headers=token_for(eng2)) as eng_stream,
        open_stream(http, stream, headers=token_for(other.owner)) as other_stream,
    ):
        for s in (owner_stream, eng_stream, other_stream):
            await s.wait_event("ready")
        await commit_events(db, event)

        rows = await wait_until(lambda: _rows_when(db, event.id, 3), message="three bell rows")
        assert {r.user_id for r in rows} == {owner.id, eng2.id, eng3.id}
        for row in rows:
            assert row.link == f"/pilot/{event.session_id}?pickup=true"
            assert row.type == "handoff_escalated" and event.data.session.title in row.title
            assert row.account_id == team.account.id and row.read_at is None

        for s in (owner_stream, eng_stream):
            created = await s.wait_event("handoff_created")
            data = created.json()
            assert data["session_id"] == str(event.session_id)
            assert data["handoff_id"] == str(event.data.handoff_id)
            assert data["event_id"] == str(event.id) and data["title"] == event.data.session.title
            assert data["escalated_by"] == {"id": str(escalator.id), "name": escalator.name}
            assert created.id
        mine = {r.user_id: r for r in rows}
        note = await owner_stream.wait_event("notification")
        assert note.json()["id"] == str(mine[owner.id].id)
        assert note.json()["link"] == f"/pilot/{event.session_id}?pickup=true"
        await eng_stream.wait_event("notification", where=lambda d: d["id"] == str(mine[eng2.id].id))
        assert all(e.json()["id"] == str(mine[eng2.id].id) for e in eng_stream.named("notification"))
        assert all(e.json()["id"] == str(mine[owner.id].id) for e in owner_stream.named("notification"))

        # The other tenant hears nothing of it: its own later escalation arrives, and only that.
        theirs = await make_escalation(db, other, escalator=other.owner)
        await commit_events(db, theirs)
        await other_stream.wait_event("handoff_created")
        assert [e.json()["event_id"] for e in other_stream.named("handoff_created")] == [str(theirs.id)]
        assert not other_stream.named("notification")


async def _rows_when(db, event_id: uuid.UUID, count: int) -> list[Notification] | None:
    rows = await bell_rows(db, event_id)
    return rows if len(rows) >= count else None


async def test_targeted_escalation_reaches_only_the_target(notifier, db):
    team = await make_team(db, engineers=3)
    escalator, target = team.users[1], team.users[2]
    event = await make_escalation(db, team, escalator=escalator, target=target)
    marker = await make_escalation(db, team, escalator=escalator)
    await commit_events(db, event)
    await commit_events(db, marker)
    # One handler transaction writes all of an event's rows: once any exist, all do. The bell
    # consumer handles messages concurrently, so the marker being done says nothing about the other.
    rows = await wait_until(lambda: _rows_when(db, event.id, 1), message="targeted escalation processed")
    await wait_until(lambda: _rows_when(db, marker.id, 3), message="untargeted escalation processed")
    assert [r.user_id for r in rows] == [target.id]
    assert [r.user_id for r in await bell_rows(db, event.id)] == [target.id]
    assert "to you" in rows[0].title


async def test_same_event_twice_gives_no_second_row(notifier, db, amqp):
    team = await make_team(db, engineers=2)
    event = await make_escalation(db, team, escalator=team.users[1])
    await commit_events(db, event)
    first = await wait_until(lambda: _rows_when(db, event.id, 2), message="bell rows")
    labels = {"consumer": "notifier.bell", "outcome": "duplicate"}
    before = REGISTRY.get_sample_value("flowpilot_consumer_messages_total", labels) or 0.0
    await publish_event(amqp, event)

    async def duplicate_seen() -> bool:
        return (REGISTRY.get_sample_value("flowpilot_consumer_messages_total", labels) or 0.0) > before

    await wait_until(duplicate_seen, message="duplicate delivery handled")
    again = await bell_rows(db, event.id)
    assert sorted(r.id for r in again) == sorted(r.id for r in first)


async def test_handler_twice_inserts_once_and_stages_one_stream_event(db):
    # The bell writes no inbox row: its rows' unique key is what makes a second delivery a no-op.
    team = await make_team(db, engineers=1)
    event = await make_escalation(db, team, escalator=team.users[1])
    outcomes = []
    for _ in (1, 2):
        async with DriverUnitOfWork(db) as uow:
            outcomes.append(await handle(event, HandlerContext(uow=uow, db=db, consumer="direct", attempt=1)))
            await uow.commit()
    assert outcomes == [None, ALREADY_DONE]
    rows = await bell_rows(db, event.id)
    assert [r.user_id for r in rows] == [team.owner.id]
    async with db.sessions() as session:
        stream_events = (
            await session.execute(
                select(OutboxEvent.payload).where(
                    OutboxEvent.routing_key == "notification.created",
                    OutboxEvent.payload["data"]["rows"].contains([{"notification_id": str(rows[0].id)}]),
                )
            )
        ).all()
    [pushed] = [e.payload["data"]["rows"] for e in stream_events]
    assert pushed == [
        {
            "notification_id": str(rows[0].id),
            "user_id": str(team.owner.id),
            "created_at": pushed[0]["created_at"],
        }
    ]


async def test_claim_tells_the_escalator_who_picked_it_up(notifier, http, db, token_for):
    team = await make_team(db, engineers=2)
    owner, escalator = team.users[0], team.users[1]
    escalated = await make_escalation(db, team, escalator=escalator)
    claim = claimed_event(escalated, claimer=owner, team=team)
    async with open_stream(http, notifier.url(STREAM), headers=token_for(team.users[2])) as stream:
        await stream.wait_event("ready")
        await commit_events(db, escalated)
        await commit_events(db, claim)
        rows = await wait_until(lambda: _rows_when(db, claim.id, 1), message="claim bell row")
        claimed = await stream.wait_event("handoff_claimed")
    assert [r.user_id for r in rows] == [escalator.id]
    assert rows[0].type == "handoff_claimed"
    assert owner.name in rows[0].title and escalated.data.session.title in rows[0].title
    assert rows[0].link == f"/pilot/{escalated.session_id}"
    data = claimed.json()
    assert data["session_id"] == str(escalated.session_id)
    assert data["handoff_id"] == str(escalated.data.handoff_id)
    assert data["claimer"] == {"id": str(owner.id), "name": owner.name}


async def test_psa_push_failure_tells_the_escalator_why(notifier, db):
    team = await make_team(db, engineers=1)
    escalator = team.users[1]
    escalated = await make_escalation(db, team, escalator=escalator)
    failed = push_failed_event(escalated, error="ConnectWise answered 401: invalid API keys")
    await commit_events(db, failed)
    rows = await wait_until(lambda: _rows_when(db, failed.id, 1), message="psa failure bell row")
    assert [r.user_id for r in rows] == [escalator.id]
    assert rows[0].type == "psa_push_failed"
    assert "not updated" in rows[0].title.lower()
    assert "invalid API keys" in rows[0].body and "T-1001" in rows[0].body
