"""Claim race, pickup (also legacy requesting_escalation), the queue and its count, roles."""

from __future__ import annotations

import asyncio
import json
import uuid

from sqlalchemy import update

from flowpilot_shared.models import AiSession
from tests.harness.broker import capture
from tests.harness.people import API, add_user, create_session, escalate, signup
from tests.harness.waiting import wait_until


async def test_claim_race_exactly_one_wins(api, amqp):
    captured = await capture(amqp, routing_key="handoff.claimed")
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    seniors = [await add_user(api, tenant, "engineer") for _ in range(9)] + [tenant.owner]
    session = await create_session(api, junior.token)
    handoff = await escalate(api, junior.token, session["id"])
    url = f"{API}/ai-sessions/{session['id']}/handoffs/{handoff['id']}/claim"
    responses = await asyncio.gather(*(api.post(url, headers=s.headers) for s in seniors))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 9, [r.text for r in responses]
    [winner_response] = [r for r in responses if r.status_code == 200]
    claimed = winner_response.json()
    winner = next(s for s in seniors if str(s.id) == claimed["claimed_by"])
    assert claimed["claimed_at"] is not None
    for loser in (r for r in responses if r.status_code == 409):
        body = loser.json()
        assert body["detail"] == f"Already picked up by {winner.name}"
        assert body["claimed_by"] == {"id": str(winner.id), "name": winner.name}
    read = (await api.get(f"{API}/ai-sessions/{session['id']}", headers=winner.headers)).json()
    assert read["status"] == "picked_up" and read["owner_id"] == str(winner.id)
    assert read["picked_up_by"] == str(winner.id)

    async def claimed_events():
        return [b for b in captured.bodies("handoff.claimed") if b["session_id"] == session["id"]]

    [event] = await wait_until(claimed_events, message="handoff.claimed published")
    assert event["data"]["claimer"]["id"] == str(winner.id)
    assert event["data"]["escalator"]["id"] == str(junior.id)
    # The new owner may add steps; the junior no longer may.
    step = {"kind": "note", "content": "Taking over"}
    assert (
        await api.post(f"{API}/ai-sessions/{session['id']}/steps", headers=winner.headers, json=step)
    ).status_code == 201
    assert (
        await api.post(f"{API}/ai-sessions/{session['id']}/steps", headers=junior.headers, json=step)
    ).status_code == 403


async def test_viewer_cannot_claim_pickup_or_read_queue(api):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    viewer = await add_user(api, tenant, "viewer")
    session = await create_session(api, junior.token)
    handoff = await escalate(api, junior.token, session["id"])
    base = f"{API}/ai-sessions/{session['id']}"
    for response in (
        await api.post(f"{base}/handoffs/{handoff['id']}/claim", headers=viewer.headers),
        await api.post(f"{base}/pickup", headers=viewer.headers),
        await api.get(f"{API}/ai-sessions/queue", headers=viewer.headers),
        await api.get(f"{API}/ai-sessions/queue/count", headers=viewer.headers),
        await api.post(f"{API}/ai-sessions", headers=viewer.headers, json={"title": "t", "problem": "p"}),
    ):
        assert response.status_code == 403
        assert response.json() == {"detail": "Engineer or admin access required"}
    # A viewer may still read.
    assert (await api.get(base, headers=viewer.headers)).status_code == 200
    assert (await api.get(f"{base}/handoff-context", headers=viewer.headers)).status_code == 200


async def test_other_tenant_gets_404_or_empty(api):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    stranger = await signup(api)
    outsider = stranger.owner
    session = await create_session(api, junior.token)
    handoff = await escalate(api, junior.token, session["id"])
    base = f"{API}/ai-sessions/{session['id']}"
    for method, path in (
        ("GET", base),
        ("GET", f"{base}/handoffs"),
        ("GET", f"{base}/handoff-context"),
        ("GET", f"{base}/documentation"),
        ("GET", f"{base}/psa-pushes"),
        ("POST", f"{base}/handoffs/{handoff['id']}/claim"),
        ("POST", f"{base}/pickup"),
        ("POST", f"{base}/resolve"),
        ("POST", f"{base}/resume"),
    ):
        response = await api.request(method, path, headers=outsider.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert session["title"] not in response.text
    assert (await api.get(f"{API}/ai-sessions/queue", headers=outsider.headers)).json() == []
    assert (await api.get(f"{API}/ai-sessions/queue/count", headers=outsider.headers)).json() == {"count": 0}
    # Their own session with our handoff id: still 404.
    theirs = await create_session(api, outsider.token)
    claim = await api.post(
        f"{API}/ai-sessions/{theirs['id']}/handoffs/{handoff['id']}/claim", headers=outsider.headers
    )
    assert claim.status_code == 404
    # Nothing changed for the real tenant.
    assert (await api.get(base, headers=junior.headers)).json()["status"] == "escalated"


async def test_queue_and_count_include_legacy_requesting_escalation(api, db):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    senior = await add_user(api, tenant, "engineer")
    first = await create_session(api, junior.token, title="First")
    second = await create_session(api, junior.token, title="Second")
    legacy = await create_session(api, junior.token, title="Legacy")
    await create_session(api, junior.token, title="Still active")
    h1 = await escalate(api, junior.token, first["id"], reason="first reason")
    h2 = await escalate(api, junior.token, second["id"], target_user_id=senior.id, urgency="high")
    async with db.sessions() as s, s.begin():
        await s.execute(
            update(AiSession)
            .where(AiSession.id == uuid.UUID(legacy["id"]))
            .values(status="requesting_escalation", escalation_reason="legacy reason")
        )
    queue = (await api.get(f"{API}/ai-sessions/queue", headers=senior.headers)).json()
    assert [i["session_id"] for i in queue] == [first["id"], second["id"], legacy["id"]]
    assert set(queue[0]) == {
        "session_id",
        "handoff_id",
        "title",
        "status",
        "reason",
        "urgency",
        "escalated_by",
        "target_user_id",
        "escalated_at",
        "reminders",
    }
    assert [i["reminders"] for i in queue] == [None, None, None]  # no round has fired
    assert queue[0]["handoff_id"] == h1["id"] and queue[0]["reason"] == "first reason"
    assert queue[0]["escalated_by"] == {"id": str(junior.id), "name": junior.name}
    assert queue[1]["handoff_id"] == h2["id"] and queue[1]["target_user_id"] == str(senior.id)
    assert [i["urgency"] for i in queue] == ["normal", "high", "normal"]
    assert queue[2]["status"] == "requesting_escalation" and queue[2]["handoff_id"] is None
    count = (await api.get(f"{API}/ai-sessions/queue/count", headers=senior.headers)).json()
    assert count == {"count": 3}

    # Pickup accepts the legacy status; then the session leaves the queue.
    picked = await api.post(f"{API}/ai-sessions/{legacy['id']}/pickup", headers=senior.headers)
    assert picked.status_code == 200, picked.text
    assert picked.json()["status"] == "picked_up" and picked.json()["owner_id"] == str(senior.id)
    again = await api.post(f"{API}/ai-sessions/{legacy['id']}/pickup", headers=tenant.owner.headers)
    assert again.status_code == 409 and senior.name in again.json()["detail"]
    # Pickup of an escalated session claims its handoff (same path as claim).
    picked = await api.post(f"{API}/ai-sessions/{first['id']}/pickup", headers=senior.headers)
    assert picked.status_code == 200
    history = (await api.get(f"{API}/ai-sessions/{first['id']}/handoffs", headers=senior.headers)).json()
    assert history[0]["claimed_by"] == str(senior.id)
    claim = await api.post(
        f"{API}/ai-sessions/{first['id']}/handoffs/{h1['id']}/claim", headers=tenant.owner.headers
    )
    assert claim.status_code == 409 and claim.json()["claimed_by"]["id"] == str(senior.id)
    count = (await api.get(f"{API}/ai-sessions/queue/count", headers=senior.headers)).json()
    assert count == {"count": 1}
    # An active session cannot be picked up.
    active = await create_session(api, junior.token)
    assert (
        await api.post(f"{API}/ai-sessions/{active['id']}/pickup", headers=senior.headers)
    ).status_code == 409


async def test_legacy_requesting_escalation_with_handoff_emits_claim(api, amqp, db):
    captured = await capture(amqp, routing_key="handoff.claimed")
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    handoff = await escalate(api, junior.token, session["id"])
    async with db.sessions() as s, s.begin():
        await s.execute(
            update(AiSession)
            .where(AiSession.id == uuid.UUID(session["id"]))
            .values(status="requesting_escalation")
        )
    picked = await api.post(f"{API}/ai-sessions/{session['id']}/pickup", headers=tenant.owner.headers)
    assert picked.status_code == 200

    async def claimed():
        return [
            json.loads(m.body) for m in captured.messages if json.loads(m.body)["session_id"] == session["id"]
        ]

    [event] = await wait_until(claimed, message="claim event")
    assert event["data"]["handoff_id"] == handoff["id"]
