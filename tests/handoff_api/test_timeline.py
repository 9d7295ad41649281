"""`GET /ai-sessions/{id}/timeline`: handoff-api's own story plus what the other services recorded."""

from __future__ import annotations

import uuid

from tests.harness.people import API, add_user, create_session, escalate, signup

STEPS = [("action", "Restarted the print spooler"), ("observation", "Queue still stuck")]


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


DELIVERY = """
INSERT INTO deliveries (id, account_id, session_id, handoff_id, event_id, event_type, channel, recipient,
                        status, attempts, last_error)
VALUES (gen_random_uuid(), $1, $2, $3, $4, 'handoff.escalated', $5, $6, $7, $8, $9)
"""
DOCUMENTATION = """
INSERT INTO documentation (id, account_id, session_id, handoff_id, version, generated_by, model, content_markdown)
VALUES ($1, $2, $3, $4, 1, 'ai', 'claude-test', '# Spooler')
"""
PUSH = """
INSERT INTO psa_pushes (id, account_id, session_id, handoff_id, documentation_id, event_id, provider, ticket_id,
                        status, marker, external_note_id, attempts, last_error)
VALUES (gen_random_uuid(), $1, $2, $3, $4, gen_random_uuid(), $5, 'T-1001', $6, 'marker', $7, 1, $8)
"""


async def test_deliveries_documentation_and_psa_notes_are_read_where_they_are_written(api, db):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    sid, account = uuid.UUID(session["id"]), tenant.account_id
    handoff_id = uuid.UUID((await escalate(api, junior.token, session["id"]))["id"])
    source, documentation_id = uuid.uuid4(), uuid.uuid4()
    async with db.driver() as conn:
        # As the notifier's ledger holds them: a sent email that failed once first, a send still in
        # flight, a Slack post skipped for a reason, and Teams never set up.
        for channel, recipient, status, attempts, error in (
            ("email", "sam@example.com", "sent", 2, "SMTP 451 try later"),
            ("email", "alex@example.com", "pending", 1, None),
            ("slack", "C123", "skipped", 0, "quiet hours"),
            ("teams", "-", "skipped", 0, "Teams is not configured"),
        ):
            await conn.execute(
                DELIVERY, account, sid, handoff_id, source, channel, recipient, status, attempts, error
            )
        await conn.execute(DOCUMENTATION, documentation_id, account, sid, handoff_id)
        # One push per documentation version: this one's, and two of versions not shown here.
        for documented, provider, status, note, error in (
            (documentation_id, "connectwise", "pushed", "77", None),
            (uuid.uuid4(), "autotask", "failed", None, "HTTP 401"),
            (uuid.uuid4(), "halopsa", "pending", None, None),
        ):
            await conn.execute(PUSH, account, sid, handoff_id, documented, provider, status, note, error)
        # A copy the old projection wrote (a replica of the release before, during a rolling update).
        await conn.execute(
            "INSERT INTO timeline_entries (id, entry_key, account_id, session_id, at, kind, summary, data) "
            "VALUES (gen_random_uuid(), $1, $2, $3, now(), 'delivery', 'Email to old@example.com: sent', $4)",
            f"delivery:{source}:email:old@example.com",
            account,
            sid,
            '{"recipient": "old@example.com"}',
        )

    items = (await api.get(f"{API}/ai-sessions/{sid}/timeline", headers=junior.headers)).json()
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)
    deliveries = {i["data"]["recipient"]: i for i in items if i["kind"] == "delivery"}
    assert set(deliveries) == {"sam@example.com", "C123"}  # settled ones; no row for a channel not set up
    sent = deliveries["sam@example.com"]
    assert sent["summary"] == "Email to sam@example.com: sent" and sent["actor"] is None
    assert sent["data"] | {"event_id": None} == {
        "channel": "email",
        "recipient": "sam@example.com",
        "status": "sent",
        "error": None,
        "attempts": 2,
        "event_id": None,
        "event_type": "handoff.escalated",
    } and sent["data"]["event_id"] == str(source)
    assert deliveries["C123"]["summary"] == "Slack to C123: skipped (quiet hours)"
    [doc] = [i for i in items if i["kind"] == "documentation"]
    assert doc["summary"] == "Documentation v1 written by AI (claude-test)"
    assert doc["data"]["documentation_id"] == str(documentation_id)
    notes = {i["data"]["status"]: i for i in items if i["kind"] == "psa_note"}
    assert set(notes) == {"pushed", "failed"}
    assert notes["pushed"]["summary"] == "Note added to connectwise ticket T-1001"
    assert notes["pushed"]["data"]["external_note_id"] == "77"
    assert notes["failed"]["summary"] == "Note not added to autotask ticket T-1001: HTTP 401"

    # Another tenant's rows never show, even under this session's id.
    stranger = await signup(api)
    async with db.driver() as conn:
        await conn.execute(
            DELIVERY,
            stranger.account_id,
            sid,
            handoff_id,
            source,
            "email",
            "eve@example.com",
            "sent",
            1,
            None,
        )
    again = (await api.get(f"{API}/ai-sessions/{sid}/timeline", headers=junior.headers)).json()
    assert "eve@example.com" not in {i["data"].get("recipient") for i in again}


async def test_another_tenant_gets_404_and_bad_ids_422(api):
    tenant, stranger = await signup(api), await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    response = await api.get(f"{API}/ai-sessions/{session['id']}/timeline", headers=stranger.owner.headers)
    assert response.status_code == 404
    # Its own account sees it: nothing has happened to it yet.
    own = await api.get(f"{API}/ai-sessions/{session['id']}/timeline", headers=junior.headers)
    assert own.status_code == 200 and own.json() == []
    missing = await api.get(f"{API}/ai-sessions/{uuid.uuid4()}/timeline", headers=junior.headers)
    assert missing.status_code == 404
    bad = await api.get(f"{API}/ai-sessions/not-a-uuid/timeline", headers=junior.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "session_id"]
    assert (await api.get(f"{API}/ai-sessions/{session['id']}/timeline")).status_code == 401
