"""Re-escalation timers in handoff-api: rounds widen to every senior, the final notice, what stops them.

Timers are brought due on the database's clock (`bring_due`) instead of waiting out an interval; the
real 5-second policy runs through the whole stack in tests/e2e/test_lifecycle.py.
"""

from __future__ import annotations

import json
import uuid

from flowpilot_shared.db import Database
from tests.harness.api import running_app
from tests.harness.broker import capture
from tests.harness.people import API, add_user, create_session, escalate, signup
from tests.harness.timers import bring_due, set_policy, timer_of
from tests.harness.waiting import wait_until

OUTBOX_ROUNDS = """
SELECT payload::text FROM outbox WHERE routing_key = 'handoff.reescalated' AND session_id = $1 ORDER BY seq
"""


async def _rounds_in_outbox(db: Database, session_id: str) -> list[str]:
    async with db.driver() as conn:
        return [r[0] for r in await conn.fetch(OUTBOX_ROUNDS, uuid.UUID(session_id))]


async def test_rounds_widen_to_every_senior_then_owners_and_admins_are_told_once(api, amqp, db):
    captured = await capture(amqp, routing_key="handoff.reescalated")
    tenant = await signup(api)
    admin = await add_user(api, tenant, "admin")
    sam, target = await add_user(api, tenant, "engineer"), await add_user(api, tenant, "engineer")
    junior = await add_user(api, tenant, "engineer")
    await add_user(api, tenant, "viewer")
    await add_user(api, tenant, "engineer", active=False)
    await set_policy(api, tenant.owner, reescalate_after_seconds=600, max_rounds=1)
    session = await create_session(api, junior.token)
    sid = session["id"]
    handoff = await escalate(api, junior.token, sid, target_user_id=target.id, urgency="high")

    def rounds() -> list[dict]:
        return [b for b in captured.of_account(tenant.account_id) if b["session_id"] == sid]

    async def fired(count: int) -> list[dict]:
        return rounds() if len(rounds()) >= count else []

    await bring_due(db, sid)
    [first] = await wait_until(lambda: fired(1), timeout=20, message="round 1 published")
    data = first["data"]
    assert (data["round"], data["final"], data["max_rounds"]) == (1, False, 1)
    assert data["handoff_id"] == handoff["id"] and data["urgency"] == "high"
    assert data["escalator"]["id"] == str(junior.id) and data["waited_seconds"] >= 0
    # Targeted at one senior, the round goes to every active senior but the escalator.
    assert {r["id"] for r in data["recipients"]} == {str(p.id) for p in (tenant.owner, admin, sam, target)}
    timer = await timer_of(db, sid)
    assert timer is not None and timer["rounds_fired"] == 1 and 590 < timer["due_in"] <= 600

    await bring_due(db, sid)
    second = (await wait_until(lambda: fired(2), timeout=20, message="final notice published"))[1]["data"]
    assert (second["round"], second["final"]) == (2, True)
    assert {r["id"] for r in second["recipients"]} == {str(tenant.owner.id), str(admin.id)}
    assert await timer_of(db, sid) is None  # told once: nothing more fires
    assert len(await _rounds_in_outbox(db, sid)) == 2

    timeline = (await api.get(f"{API}/ai-sessions/{sid}/timeline", headers=admin.headers)).json()
    kinds = [(i["kind"], i["data"].get("round"), i["data"].get("final")) for i in timeline]
    assert [k for k in kinds if k[0] == "round"] == [("round", 1, False), ("round", 2, True)]
    stats = (await api.get(f"{API}/analytics/escalations", headers=admin.headers)).json()
    assert stats["reescalated"] == 1


async def test_claim_ends_the_timer_and_a_leftover_timer_never_fires_for_a_claimed_escalation(api, db):
    tenant = await signup(api)
    junior, sam = await add_user(api, tenant, "engineer"), await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    sid = session["id"]
    handoff = await escalate(api, junior.token, sid)
    assert await timer_of(db, sid) is not None
    claim = await api.post(f"{API}/ai-sessions/{sid}/handoffs/{handoff['id']}/claim", headers=sam.headers)
    assert claim.status_code == 200
    assert await timer_of(db, sid) is None

    # A timer left behind (as a release racing a claim could leave one): the loop re-checks and ends it.
    async with db.driver() as conn:
        await conn.execute(
            "INSERT INTO escalation_timers (session_id, handoff_id, account_id, due_at, last_at) "
            "VALUES ($1, $2, $3, now(), now())",
            uuid.UUID(sid),
            uuid.UUID(handoff["id"]),
            tenant.account_id,
        )
    await bring_due(db, sid)

    async def ended() -> bool:
        return await timer_of(db, sid) is None

    await wait_until(ended, timeout=20, message="the leftover timer ended")
    assert await _rounds_in_outbox(db, sid) == []


async def test_resolve_ends_the_timer(api, db):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    await escalate(api, junior.token, session["id"])
    assert await timer_of(db, session["id"]) is not None
    resolved = await api.post(f"{API}/ai-sessions/{session['id']}/resolve", headers=tenant.owner.headers)
    assert resolved.status_code == 200
    assert await timer_of(db, session["id"]) is None


async def test_two_replicas_fire_each_due_timer_once(api, db, settings):
    """A second app on the same database: both loops wake for every due timer, one fires it."""
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    await set_policy(api, tenant.owner, reescalate_after_seconds=600, max_rounds=3)
    sessions = [await create_session(api, junior.token) for _ in range(6)]
    for session in sessions:
        await escalate(api, junior.token, session["id"])
    async with running_app(settings):
        for round_number in (1, 2):
            for session in sessions:
                await bring_due(db, session["id"])

            async def all_fired(n: int = round_number) -> bool:
                timers = [await timer_of(db, s["id"]) for s in sessions]
                return all(t is not None and t["rounds_fired"] == n for t in timers)

            await wait_until(all_fired, timeout=30, message=f"round {round_number} of every session")
    for session in sessions:
        payloads = await _rounds_in_outbox(db, session["id"])
        assert len(payloads) == 2, (session["id"], payloads)
        assert [json.loads(p)["data"]["round"] for p in payloads] == [1, 2]


async def test_a_shorter_interval_makes_a_waiting_escalation_fire_on_its_own(api, amqp, db):
    """The default 600 s, then a 5 s policy: the PUT re-plans the timer and wakes the loop."""
    captured = await capture(amqp, routing_key="handoff.reescalated")
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    await escalate(api, junior.token, session["id"])
    await set_policy(api, tenant.owner, reescalate_after_seconds=5, max_rounds=1)

    async def first_round() -> list[dict]:
        return [b for b in captured.of_account(tenant.account_id) if b["data"]["round"] == 1]

    [event] = await wait_until(first_round, timeout=30, message="round 1 after the policy change")
    assert event["data"]["waited_seconds"] >= 5 and event["data"]["final"] is False


async def test_the_queue_carries_the_rounds_fired_since_the_escalation_entered_it(api, db):
    """A reload of the queue still says how often it was raised again; a release starts the count over."""
    tenant = await signup(api)
    junior, sam = await add_user(api, tenant, "engineer"), await add_user(api, tenant, "engineer")
    await set_policy(api, tenant.owner, reescalate_after_seconds=600, max_rounds=2)
    sid = (await create_session(api, junior.token))["id"]
    handoff = await escalate(api, junior.token, sid)

    async def reminders() -> dict | None:
        response = await api.get(f"{API}/ai-sessions/queue", headers=sam.headers)
        assert response.status_code == 200, response.text
        [item] = [i for i in response.json() if i["session_id"] == sid]
        return item["reminders"]

    async def fired(round_number: int) -> dict | None:
        got = await reminders()
        return got if got is not None and got["round"] == round_number else None

    assert await reminders() is None
    await bring_due(db, sid)
    first = await wait_until(lambda: fired(1), timeout=20, message="round 1 in the queue")
    assert (first["final"], first["max_rounds"]) == (False, 2) and first["at"]

    actions = f"{API}/ai-sessions/{sid}/handoffs/{handoff['id']}"
    assert (await api.post(f"{actions}/claim", headers=sam.headers)).status_code == 200
    assert (await api.post(f"{actions}/release", headers=sam.headers)).status_code == 200
    assert await reminders() is None  # back in the queue: its rounds start again

    for round_number in (1, 2, 3):
        await bring_due(db, sid)
        latest = await wait_until(
            lambda n=round_number: fired(n), timeout=20, message=f"round {round_number} after the release"
        )
    assert (latest["round"], latest["final"], latest["max_rounds"]) == (3, True, 2)
