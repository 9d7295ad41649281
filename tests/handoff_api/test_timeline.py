"""`GET /ai-sessions/{id}/timeline`: handoff-api's own story plus the projection of other services' events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from flowpilot_shared.events import (
    DeliveryRecorded,
    DocumentationGenerated,
    DocumentationGeneratedData,
    PsaNotePushed,
    PsaNotePushedData,
    PsaPushFailed,
    PsaPushFailedData,
)
from flowpilot_shared.lifecycle_contracts import DeliveryOutcome, DeliveryRecordedData
from tests.harness.broker import publish_event
from tests.harness.people import API, add_user, create_session, escalate, signup
from tests.harness.waiting import wait_until

HANDLED = "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2)"
STEPS = [("action", "Restarted the print spooler"), ("observation", "Queue still stuck")]


def _delivery(account_id, session_id, handoff_id, source_id, *outcomes: DeliveryOutcome) -> DeliveryRecorded:
    return DeliveryRecorded(
        account_id=account_id,
        session_id=session_id,
        data=DeliveryRecordedData(
            source_event_id=source_id,
            source_event_type="handoff.escalated",
            handoff_id=handoff_id,
            channel="email",
            outcomes=list(outcomes),
        ),
    )


async def test_own_story_oldest_first_with_actors(api):
    tenant = await signup(api)
    junior, sam = await add_user(api, tenant, "engineer"), await add_user(api, tenant, "engineer")
    viewer = await add_user(api, tenant, "viewer")
    session = await create_session(api, junior.token, steps=STEPS)
    sid = session["id"]
    handoff = await escalate(api, junior.token, sid, reason="Spooler beyond me", urgency="high")
    hid = handoff["id"]
    base = f"{API}/ai-sessions/{sid}/handoffs/{hid}"
    assert (await api.post(f"{base}/claim", headers=sam.headers)).status_code == 200
    assert (await api.post(f"{base}/release", headers=sam.headers)).status_code == 200
    assert (await api.post(f"{base}/claim", headers=tenant.owner.headers)).status_code == 200

    response = await api.get(f"{API}/ai-sessions/{sid}/timeline", headers=viewer.headers)
    assert response.status_code == 200, response.text
    items = response.json()
    assert [i["kind"] for i in items] == ["step", "step", "escalation", "claim", "release", "claim"]
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)
    assert [i["actor"]["name"] for i in items] == [junior.name] * 3 + [sam.name, sam.name, tenant.owner.name]
    assert items[0]["data"]["content"] == "Restarted the print spooler"
    assert "high urgency" in items[2]["summary"] and items[2]["data"]["handoff_id"] == hid
    assert items[4]["summary"] == f"Released by {sam.name}: back in the queue"
    assert items[4]["data"]["claimer"]["name"] == sam.name
    assert items[3]["data"]["waited_seconds"] >= 0


async def test_deliveries_documentation_and_psa_notes_come_from_events(api, amqp, db):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    sid, account = uuid.UUID(session["id"]), tenant.account_id
    handoff_id = uuid.UUID((await escalate(api, junior.token, session["id"]))["id"])
    source = uuid.uuid4()
    now = datetime.now(UTC)
    failed = DeliveryOutcome(
        recipient="sam@example.com", status="failed", error="SMTP 550 no such user", at=now
    )
    first = _delivery(account, sid, handoff_id, source, failed)
    documentation_id = uuid.uuid4()
    documentation = DocumentationGenerated(
        account_id=account,
        session_id=sid,
        data=DocumentationGeneratedData(
            documentation_id=documentation_id,
            handoff_id=handoff_id,
            version=1,
            generated_by="ai",
            model="claude-test",
            content_markdown="# Spooler",
            session_title=session["title"],
            psa_ticket_id="T-1001",
        ),
    )
    note = PsaNotePushed(
        account_id=account,
        session_id=sid,
        data=PsaNotePushedData(
            push_id=uuid.uuid4(),
            documentation_id=documentation_id,
            handoff_id=handoff_id,
            provider="connectwise",
            ticket_id="T-1001",
            external_note_id="77",
        ),
    )
    refused = PsaPushFailed(
        account_id=account,
        session_id=sid,
        data=PsaPushFailedData(
            push_id=uuid.uuid4(),
            documentation_id=uuid.uuid4(),
            handoff_id=handoff_id,
            provider="autotask",
            ticket_id="T-1001",
            error="HTTP 401",
            session_title=session["title"],
        ),
    )
    for event in (first, first, documentation, note, refused):  # `first` twice: a redelivery
        await publish_event(amqp, event)
    # A later outcome of the same delivery (a replay that got through) replaces it; an older one does not.
    sent = DeliveryOutcome(recipient="sam@example.com", status="sent", at=now + timedelta(seconds=5))
    await publish_event(amqp, _delivery(account, sid, handoff_id, source, sent))

    async def projected() -> list[dict] | None:
        items = (await api.get(f"{API}/ai-sessions/{sid}/timeline", headers=junior.headers)).json()
        kinds = [i["kind"] for i in items]
        done = kinds.count("psa_note") == 2 and "documentation" in kinds
        delivered = [i for i in items if i["kind"] == "delivery"]
        return items if done and delivered and delivered[0]["data"]["status"] == "sent" else None

    items = await wait_until(projected, timeout=20, message="the projection caught up")
    [delivery] = [i for i in items if i["kind"] == "delivery"]
    assert delivery["summary"] == "Email to sam@example.com: sent" and delivery["actor"] is None
    assert delivery["data"]["channel"] == "email" and delivery["data"]["event_id"] == str(source)
    [doc] = [i for i in items if i["kind"] == "documentation"]
    assert doc["summary"] == "Documentation v1 written by AI (claude-test)"
    notes = {i["data"]["status"]: i for i in items if i["kind"] == "psa_note"}
    assert notes["pushed"]["summary"] == "Note added to connectwise ticket T-1001"
    assert notes["failed"]["summary"] == "Note not added to autotask ticket T-1001: HTTP 401"
    # An older outcome arriving late (a redelivered announcement) does not overwrite the newer one.
    old = DeliveryOutcome(recipient="sam@example.com", status="failed", error="old", at=now - timedelta(1))
    late = _delivery(account, sid, handoff_id, source, old)
    await publish_event(amqp, late)

    async def handled() -> bool:
        async with db.driver() as conn:
            return bool(await conn.fetchval(HANDLED, "handoff-api.timeline", late.id))

    await wait_until(handled, timeout=20, message="the late announcement handled")
    again = (await api.get(f"{API}/ai-sessions/{sid}/timeline", headers=junior.headers)).json()
    assert [i["data"]["status"] for i in again if i["kind"] == "delivery"] == ["sent"]


async def test_another_tenant_gets_404_and_bad_ids_422(api):
    tenant, stranger = await signup(api), await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    response = await api.get(f"{API}/ai-sessions/{session['id']}/timeline", headers=stranger.owner.headers)
    assert response.status_code == 404
    missing = await api.get(f"{API}/ai-sessions/{uuid.uuid4()}/timeline", headers=junior.headers)
    assert missing.status_code == 404
    bad = await api.get(f"{API}/ai-sessions/not-a-uuid/timeline", headers=junior.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "session_id"]
    assert (await api.get(f"{API}/ai-sessions/{session['id']}/timeline")).status_code == 401
