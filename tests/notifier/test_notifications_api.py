"""The notifications API: the caller's own bell rows only, read state, bounds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from flowpilot_shared.models import Notification
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.sse import open_stream
from tests.harness.waiting import wait_until

STREAM = "ai-sessions/escalations/stream"


async def _rows(db, user, count: int) -> list[Notification]:
    now = datetime.now(UTC)
    rows = [
        Notification(
            id=uuid.uuid4(),
            account_id=user.account_id,
            user_id=user.id,
            event_id=uuid.uuid4(),
            type="handoff_escalated",
            title=f"Escalation {i}",
            body=f"Body {i}",
            link=f"/pilot/s{i}?pickup=true",
            session_id=uuid.uuid4(),
            created_at=now - timedelta(minutes=count - i),
        )
        for i in range(count)
    ]
    async with db.sessions() as session, session.begin():
        session.add_all(rows)
    return rows


async def test_list_unread_read_and_read_all(notifier, http, db, token_for):
    team = await make_team(db, engineers=1, viewers=1)
    engineer, viewer = team.users[1], team.users[2]
    rows = await _rows(db, engineer, 3)
    await _rows(db, team.owner, 2)
    headers = token_for(engineer)

    listing = (await http.get(notifier.url("notifications"), headers=headers)).json()
    assert [i["id"] for i in listing["items"]] == [str(r.id) for r in reversed(rows)]
    assert listing["unread_count"] == 3
    assert set(listing["items"][0]) == {
        "id",
        "type",
        "title",
        "body",
        "link",
        "session_id",
        "created_at",
        "read_at",
    }
    assert (await http.get(notifier.url("notifications/unread-count"), headers=headers)).json() == {
        "count": 3
    }

    read = await http.post(notifier.url(f"notifications/{rows[0].id}/read"), headers=headers)
    assert read.status_code == 200 and read.json()["id"] == str(rows[0].id) and read.json()["read_at"]
    again = await http.post(notifier.url(f"notifications/{rows[0].id}/read"), headers=headers)
    assert again.json()["read_at"] == read.json()["read_at"]
    unread = (await http.get(notifier.url("notifications?unread_only=true"), headers=headers)).json()
    assert [i["id"] for i in unread["items"]] == [str(rows[2].id), str(rows[1].id)]
    assert unread["unread_count"] == 2
    limited = (await http.get(notifier.url("notifications?limit=1"), headers=headers)).json()
    assert len(limited["items"]) == 1 and limited["unread_count"] == 2

    assert (await http.post(notifier.url("notifications/read-all"), headers=headers)).json() == {"updated": 2}
    assert (await http.get(notifier.url("notifications/unread-count"), headers=headers)).json() == {
        "count": 0
    }
    # The owner's rows were not touched.
    owner = (await http.get(notifier.url("notifications/unread-count"), headers=token_for(team.owner))).json()
    assert owner == {"count": 2}
    # Viewers read their own (empty) bell too.
    viewer_list = await http.get(notifier.url("notifications"), headers=token_for(viewer))
    assert viewer_list.status_code == 200 and viewer_list.json() == {"items": [], "unread_count": 0}


async def test_someone_elses_notification_is_404(notifier, http, db, token_for):
    team = await make_team(db, engineers=1)
    other = await make_team(db)
    [teammates] = await _rows(db, team.owner, 1)
    [foreign] = await _rows(db, other.owner, 1)
    headers = token_for(team.users[1])
    for row in (teammates, foreign, None):
        target = row.id if row else uuid.uuid4()
        response = await http.post(notifier.url(f"notifications/{target}/read"), headers=headers)
        assert response.status_code == 404
    assert (
        await http.post(notifier.url("notifications/not-a-uuid/read"), headers=headers)
    ).status_code == 422
    async with db.sessions() as session:
        assert (await session.get(Notification, teammates.id)).read_at is None
        assert (await session.get(Notification, foreign.id)).read_at is None


async def test_bounds_and_authentication(notifier, http, db, token_for):
    team = await make_team(db, engineers=1)
    headers = token_for(team.users[1])
    for bad in ("0", "201", "-1", "many"):
        response = await http.get(notifier.url(f"notifications?limit={bad}"), headers=headers)
        assert response.status_code == 422
        assert "limit" in str(response.json()["detail"])
    assert (await http.get(notifier.url("notifications?limit=200"), headers=headers)).status_code == 200
    assert (await http.get(notifier.url("notifications"))).status_code == 401
    bad_token = {"Authorization": "Bearer not-a-token"}
    assert (await http.get(notifier.url("notifications/unread-count"), headers=bad_token)).status_code == 401


def _metric(exposition: str, name: str, **labels: str) -> float:
    """One series' value on a /metrics page (0 while the series does not exist yet)."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


async def test_ops_endpoints(notifier, http, db, token_for):
    assert (await http.get(notifier.url("/healthz"))).json() == {"status": "ok"}
    assert (await http.get(notifier.url("/readyz"))).status_code == 200

    async def metrics() -> str:
        return (await http.get(notifier.url("/metrics"))).text

    # The registry is the process's: compare with what it said before this test's stream and event.
    team = await make_team(db, engineers=2)
    before = await metrics()
    async with open_stream(http, notifier.url(STREAM), headers=token_for(team.owner)) as stream:
        event = await make_escalation(db, team, escalator=team.users[1])
        await commit_events(db, event)
        await stream.wait_event("handoff_created")

        async def bell_rows() -> int:
            async with db.sessions() as session:
                query = (
                    select(func.count()).select_from(Notification).where(Notification.event_id == event.id)
                )
                return int(await session.scalar(query) or 0)

        # One statement writes every recipient's row: once there are any, they are all there.
        rows = await wait_until(bell_rows, message="bell rows")
        bell = "flowpilot_notifier_bell_notifications_total"
        during = await wait_until(
            lambda: _grown(metrics, before, bell, rows, type="handoff_escalated"),
            message="bell rows counted",
        )
    connections = "flowpilot_notifier_stream_connections"
    assert _metric(during, connections) - _metric(before, connections) == 1
    pushed = "flowpilot_notifier_stream_events_total"
    created = {"event": "handoff_created"}
    assert _metric(during, pushed, **created) - _metric(before, pushed, **created) == 1
    await wait_until(
        lambda: _grown(metrics, before, connections, 0), message="the closed stream no longer counted"
    )
    # flowpilot_notifier_stream_dropped_clients_total's value: tests/notifier/test_stream_scale.py.


async def _grown(metrics, before: str, name: str, by: float, **labels: str) -> str | None:
    """The /metrics page once `name{labels}` is exactly `by` above its value in `before`."""
    now = await metrics()
    return now if _metric(now, name, **labels) - _metric(before, name, **labels) == by else None
