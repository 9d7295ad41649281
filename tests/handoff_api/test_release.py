"""Release: the claimer (or an owner/admin) hands a claimed escalation back; 409/403/404 otherwise."""

from __future__ import annotations

import uuid

from tests.harness.broker import capture
from tests.harness.people import API, Person, add_user, create_session, escalate, signup
from tests.harness.timers import timer_of
from tests.harness.waiting import wait_until


def _url(session_id: str, handoff_id: str, action: str) -> str:
    return f"{API}/ai-sessions/{session_id}/handoffs/{handoff_id}/{action}"


async def _claimed(api, tenant, senior: Person) -> tuple[Person, dict, dict]:
    """A junior's escalation, claimed by `senior`: (junior, session, handoff)."""
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token, title=f"Printer offline {uuid.uuid4().hex[:6]}")
    handoff = await escalate(api, junior.token, session["id"], reason="Spooler keeps dying", urgency="high")
    claimed = await api.post(_url(session["id"], handoff["id"], "claim"), headers=senior.headers)
    assert claimed.status_code == 200, claimed.text
    return junior, session, handoff


async def test_release_puts_it_back_in_the_queue_for_another_senior(api, amqp, db):
    captured = await capture(amqp, routing_key="handoff.released")
    tenant = await signup(api)
    sam, alex = await add_user(api, tenant, "engineer"), await add_user(api, tenant, "admin")
    junior, session, handoff = await _claimed(api, tenant, sam)
    sid, hid = session["id"], handoff["id"]
    assert await timer_of(db, sid) is None  # the claim ended the timer

    response = await api.post(_url(sid, hid, "release"), headers=sam.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == hid and body["claimed_at"] is None and body["claimed_by"] is None
    read = (await api.get(f"{API}/ai-sessions/{sid}", headers=junior.headers)).json()
    assert (
        read["status"] == "escalated" and read["owner_id"] == str(junior.id) and read["picked_up_by"] is None
    )
    queue = (await api.get(f"{API}/ai-sessions/queue", headers=alex.headers)).json()
    [item] = [i for i in queue if i["session_id"] == sid]
    assert item["handoff_id"] == hid and item["urgency"] == "high"
    timer = await timer_of(db, sid)
    assert timer is not None and timer["rounds_fired"] == 0 and 590 < timer["due_in"] <= 600

    async def released() -> list:
        return [b for b in captured.of_account(tenant.account_id) if b["session_id"] == sid]

    [event] = await wait_until(released, message="handoff.released published")
    data = event["data"]
    assert data["handoff_id"] == hid and data["released_by"]["id"] == str(sam.id)
    assert data["claimer"]["id"] == str(sam.id) and data["escalator"]["id"] == str(junior.id)
    assert data["urgency"] == "high" and data["reason"] == "Spooler keeps dying"

    # Another senior picks it up; the timer ends again.
    again = await api.post(_url(sid, hid, "claim"), headers=alex.headers)
    assert again.status_code == 200 and again.json()["claimed_by"] == str(alex.id)
    assert await timer_of(db, sid) is None
    # Releasing twice in a row: the second finds nothing to release.
    assert (await api.post(_url(sid, hid, "release"), headers=alex.headers)).status_code == 200
    second = await api.post(_url(sid, hid, "release"), headers=alex.headers)
    assert second.status_code == 409, second.text


async def test_an_owner_or_admin_may_release_someone_elses_claim(api):
    tenant = await signup(api)
    sam, admin = await add_user(api, tenant, "engineer"), await add_user(api, tenant, "admin")
    for releaser in (admin, tenant.owner):
        _, session, handoff = await _claimed(api, tenant, sam)
        response = await api.post(_url(session["id"], handoff["id"], "release"), headers=releaser.headers)
        assert response.status_code == 200, response.text


async def test_anyone_else_gets_403_and_nothing_changes(api):
    tenant = await signup(api)
    sam = await add_user(api, tenant, "engineer")
    other_engineer, viewer = await add_user(api, tenant, "engineer"), await add_user(api, tenant, "viewer")
    junior, session, handoff = await _claimed(api, tenant, sam)
    for person in (other_engineer, viewer, junior):
        response = await api.post(_url(session["id"], handoff["id"], "release"), headers=person.headers)
        assert response.status_code == 403, (person.role, response.text)
    read = (await api.get(f"{API}/ai-sessions/{session['id']}", headers=sam.headers)).json()
    assert read["status"] == "picked_up" and read["owner_id"] == str(sam.id)


async def test_not_claimed_is_409(api):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    handoff = await escalate(api, junior.token, session["id"])
    response = await api.post(_url(session["id"], handoff["id"], "release"), headers=tenant.owner.headers)
    assert response.status_code == 409 and "not claimed" in response.json()["detail"]
    parked_session = await create_session(api, junior.token)
    park = await api.post(
        f"{API}/ai-sessions/{parked_session['id']}/handoff",
        headers=junior.headers,
        json={"intent": "park", "reason": "Lunch"},
    )
    parked = await api.post(_url(parked_session["id"], park.json()["id"], "release"), headers=junior.headers)
    assert parked.status_code == 409


async def test_a_session_that_moved_on_since_the_claim_is_409(api):
    tenant = await signup(api)
    sam = await add_user(api, tenant, "engineer")
    _, session, handoff = await _claimed(api, tenant, sam)
    resolved = await api.post(f"{API}/ai-sessions/{session['id']}/resolve", headers=sam.headers)
    assert resolved.status_code == 200
    response = await api.post(_url(session["id"], handoff["id"], "release"), headers=sam.headers)
    assert response.status_code == 409 and "moved on" in response.json()["detail"]


async def test_other_tenants_and_unknown_ids_are_404_bad_ids_422(api):
    tenant, stranger = await signup(api), await signup(api)
    sam = await add_user(api, tenant, "engineer")
    _, session, handoff = await _claimed(api, tenant, sam)
    _, other_session, _ = await _claimed(api, tenant, sam)
    cases = [
        (session["id"], handoff["id"], stranger.owner),  # another account's session: never 403
        (session["id"], str(uuid.uuid4()), sam),
        (str(uuid.uuid4()), handoff["id"], sam),
        (other_session["id"], handoff["id"], sam),  # a handoff of another session
    ]
    for sid, hid, person in cases:
        response = await api.post(_url(sid, hid, "release"), headers=person.headers)
        assert response.status_code == 404, (sid, hid, response.text)
    bad = await api.post(_url("not-a-uuid", handoff["id"], "release"), headers=sam.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "session_id"]
    read = (await api.get(f"{API}/ai-sessions/{session['id']}", headers=sam.headers)).json()
    assert read["status"] == "picked_up"
