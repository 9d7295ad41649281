"""Escalate and park: rows, status, exactly one event with the documented envelope."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from flowpilot_shared.models import AiSession, Handoff, OutboxEvent
from tests.harness.broker import Captured, capture
from tests.harness.people import API, add_user, create_session, escalate, signup
from tests.harness.waiting import wait_until

STEPS = [("action", "Rebuilt the Outlook profile"), ("observation", "Still prompts for the password")]


async def _messages(captured: Captured, session_id: str, count: int = 1) -> list:
    async def probe() -> list:
        found = [m for m in captured.messages if json.loads(m.body).get("session_id") == session_id]
        return found if len(found) >= count else []

    return await wait_until(probe, message=f"{count} event(s) of session {session_id}")


def _assert_envelope(message, body: dict, event_type: str, tenant, session_id: str) -> None:
    assert message.routing_key == event_type
    assert message.message_id == body["id"]
    assert message.content_type == "application/json" and message.delivery_mode == 2
    assert set(body) >= {"id", "type", "version", "occurred_at", "account_id", "session_id", "data"}
    assert body["type"] == event_type and body["version"] == 1
    assert body["account_id"] == str(tenant.account_id) and body["session_id"] == session_id


async def test_escalate_through_handoff(api, amqp, db):
    captured = await capture(amqp)
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    senior = await add_user(api, tenant, "engineer")
    await add_user(api, tenant, "viewer")
    await add_user(api, tenant, "engineer", active=False)
    admin = await add_user(api, tenant, "admin")
    session = await create_session(api, junior.token, steps=STEPS)
    response = await api.post(
        f"{API}/ai-sessions/{session['id']}/handoff",
        headers=junior.headers,
        json={"intent": "escalate", "reason": "Stuck after profile rebuild"},
    )
    assert response.status_code == 201, response.text
    handoff = response.json()
    assert set(handoff) == {
        "id",
        "session_id",
        "intent",
        "reason",
        "urgency",
        "from_user_id",
        "target_user_id",
        "created_at",
        "claimed_at",
        "claimed_by",
    }
    assert handoff["intent"] == "escalate" and handoff["from_user_id"] == str(junior.id)
    assert handoff["urgency"] == "normal"
    assert handoff["claimed_at"] is None and handoff["claimed_by"] is None

    after = (await api.get(f"{API}/ai-sessions/{session['id']}", headers=junior.headers)).json()
    assert after["status"] == "escalated" and after["escalation_reason"] == "Stuck after profile rebuild"
    assert after["escalated_to_id"] is None
    assert [s["content"] for s in after["steps"]] == [c for _, c in STEPS]

    [message] = await _messages(captured, session["id"])
    body = json.loads(message.body)
    _assert_envelope(message, body, "handoff.escalated", tenant, session["id"])
    data = body["data"]
    assert data["handoff_id"] == handoff["id"] and data["escalator"]["id"] == str(junior.id)
    assert data["target"] is None
    # Every active owner, admin and engineer except the escalator; not the viewer, not the inactive one.
    assert {r["id"] for r in data["recipients"]} == {str(tenant.owner.id), str(senior.id), str(admin.id)}
    assert [s["content"] for s in data["session"]["steps"]] == [c for _, c in STEPS]
    assert data["session"]["status"] == "escalated"
    async with db.sessions() as s:
        rows = (
            await s.execute(select(Handoff).where(Handoff.session_id == uuid.UUID(session["id"])))
        ).scalars()
        assert [h.id for h in rows] == [uuid.UUID(handoff["id"])]
        outbox = await s.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.session_id == uuid.UUID(session["id"]))
        )
        assert outbox == 1


async def test_escalate_through_legacy_path_with_target(api, amqp, db):
    captured = await capture(amqp)
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    senior = await add_user(api, tenant, "engineer")
    await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token, steps=STEPS)
    response = await api.post(
        f"{API}/ai-sessions/{session['id']}/escalate",
        headers=junior.headers,
        json={"escalation_reason": "DNS is fine, still failing", "escalated_to_id": str(senior.id)},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["session_id"] == session["id"] and body["status"] == "escalated"
    assert body["documentation"] == {"status": "pending"}
    assert body["psa_result"]["status"] == "no_psa"  # a ticket, but the account has no PSA configured
    [message] = await _messages(captured, session["id"])
    event = json.loads(message.body)
    _assert_envelope(message, event, "handoff.escalated", tenant, session["id"])
    assert event["data"]["handoff_id"] == body["handoff_id"]
    assert event["data"]["target"]["id"] == str(senior.id)
    assert [r["id"] for r in event["data"]["recipients"]] == [str(senior.id)]
    history = (await api.get(f"{API}/ai-sessions/{session['id']}/handoffs", headers=junior.headers)).json()
    assert [h["id"] for h in history] == [body["handoff_id"]]
    assert history[0]["target_user_id"] == str(senior.id)
    async with db.sessions() as s:
        row = await s.get(AiSession, uuid.UUID(session["id"]))
        assert row is not None and row.status == "escalated" and row.escalated_to_id == senior.id


async def test_park_notifies_nobody_and_resume(api, amqp):
    captured = await capture(amqp)
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    parked = await api.post(
        f"{API}/ai-sessions/{session['id']}/handoff",
        headers=junior.headers,
        json={"intent": "park", "reason": "Waiting for the customer"},
    )
    assert parked.status_code == 201, parked.text
    [message] = await _messages(captured, session["id"])
    event = json.loads(message.body)
    _assert_envelope(message, event, "handoff.parked", tenant, session["id"])
    assert "recipients" not in event["data"] and event["data"]["parked_by"]["id"] == str(junior.id)
    read = (await api.get(f"{API}/ai-sessions/{session['id']}", headers=junior.headers)).json()
    assert read["status"] == "parked"
    # A parked session is not in the queue.
    count = (await api.get(f"{API}/ai-sessions/queue/count", headers=tenant.owner.headers)).json()
    assert count == {"count": 0}
    resumed = await api.post(f"{API}/ai-sessions/{session['id']}/resume", headers=junior.headers)
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    again = await api.post(f"{API}/ai-sessions/{session['id']}/resume", headers=junior.headers)
    assert again.status_code == 409


async def test_handoff_rules(api):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    other = await add_user(api, tenant, "engineer")
    viewer = await add_user(api, tenant, "viewer")
    inactive = await add_user(api, tenant, "engineer", active=False)
    stranger = (await signup(api)).owner
    session = await create_session(api, junior.token)
    url = f"{API}/ai-sessions/{session['id']}/handoff"

    async def post(who, **body):
        return await api.post(url, headers=who.headers, json={"intent": "escalate", "reason": "help", **body})

    self_target = await post(junior, target_user_id=str(junior.id))
    assert self_target.status_code == 422
    assert self_target.json()["detail"][0]["loc"] == ["body", "target_user_id"]
    for bad in (viewer.id, inactive.id, stranger.id, uuid.uuid4()):
        assert (await post(junior, target_user_id=str(bad))).status_code == 422
    assert (await post(other)).status_code == 403  # same tenant, not the owner
    assert (await post(stranger)).status_code == 404  # other tenant: never 403
    assert (await post(junior)).status_code == 201
    second = await post(junior)
    assert second.status_code == 409
    legacy = await api.post(
        f"{API}/ai-sessions/{session['id']}/escalate", headers=junior.headers, json={"escalation_reason": "x"}
    )
    assert legacy.status_code == 409
    park = await api.post(url, headers=junior.headers, json={"intent": "park", "reason": "later"})
    assert park.status_code == 409
    history = (await api.get(f"{API}/ai-sessions/{session['id']}/handoffs", headers=junior.headers)).json()
    assert len(history) == 1


async def test_resolve_emits_event_and_blocks_escalation(api, amqp):
    captured = await capture(amqp, routing_key="session.resolved")
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token, steps=STEPS)
    resolved = await api.post(f"{API}/ai-sessions/{session['id']}/resolve", headers=junior.headers)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    [message] = await _messages(captured, session["id"])
    event = json.loads(message.body)
    _assert_envelope(message, event, "session.resolved", tenant, session["id"])
    assert event["data"]["resolved_by"]["id"] == str(junior.id)
    escalated = await escalate_raw(api, junior, session["id"])
    assert escalated.status_code == 409
    step = await api.post(
        f"{API}/ai-sessions/{session['id']}/steps",
        headers=junior.headers,
        json={"kind": "note", "content": "x"},
    )
    assert step.status_code == 409


async def escalate_raw(api, who, session_id):
    return await api.post(
        f"{API}/ai-sessions/{session_id}/handoff",
        headers=who.headers,
        json={"intent": "escalate", "reason": "r"},
    )


async def test_steps_only_by_current_owner(api):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    other = await add_user(api, tenant, "engineer")
    stranger = (await signup(api)).owner
    session = await create_session(api, junior.token)
    url = f"{API}/ai-sessions/{session['id']}/steps"
    step = {"kind": "action", "content": "Flushed DNS"}
    created = await api.post(url, headers=junior.headers, json=step)
    assert created.status_code == 201 and created.json()["kind"] == "action"
    assert (await api.post(url, headers=other.headers, json=step)).status_code == 403
    assert (await api.post(url, headers=stranger.headers, json=step)).status_code == 404
    await escalate(api, junior.token, session["id"])
    assert (await api.post(url, headers=junior.headers, json=step)).status_code == 201


async def test_urgency_is_kept_and_carried_by_the_event(api, amqp, db):
    captured = await capture(amqp, routing_key="handoff.escalated")
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    url = f"{API}/ai-sessions/{session['id']}/handoff"

    for bad in ("urgent", "", 1, None):
        refused = await api.post(
            url, headers=junior.headers, json={"intent": "escalate", "reason": "x", "urgency": bad}
        )
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["detail"][0]["loc"] == ["body", "urgency"]
    async with db.sessions() as s:
        written = await s.scalar(select(func.count()).where(Handoff.session_id == uuid.UUID(session["id"])))
    assert written == 0

    handoff = await escalate(api, junior.token, session["id"], urgency="high")
    assert handoff["urgency"] == "high"
    [message] = await _messages(captured, session["id"])
    assert json.loads(message.body)["data"]["urgency"] == "high"
    history = (await api.get(f"{API}/ai-sessions/{session['id']}/handoffs", headers=junior.headers)).json()
    assert history[0]["urgency"] == "high"


async def test_legacy_escalate_reports_a_psa_push_pending_only_with_a_psa_and_a_ticket(api):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    await add_user(api, tenant, "engineer")
    psa = {
        "provider": "autotask",
        "base_url": "http://127.0.0.1:9/atservices/v1.0",
        "credentials": {"username": "api@contoso", "secret": "s3cret", "integration_code": "CODE"},
    }
    configured = await api.put(f"{API}/integrations/psa", headers=tenant.owner.headers, json=psa)
    assert configured.status_code == 200, configured.text

    async def psa_status(ticket: str | None) -> str:
        session = await create_session(api, junior.token, steps=STEPS, psa_ticket_id=ticket)
        response = await api.post(
            f"{API}/ai-sessions/{session['id']}/escalate",
            headers=junior.headers,
            json={"escalation_reason": "DNS is fine, still failing"},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["psa_result"]["status"])

    assert await psa_status("T-2002") == "pending"
    assert await psa_status(None) == "no_psa"
