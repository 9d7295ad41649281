"""The handoff's single guarded write: a concurrent change is read again, a cut write leaves nothing.

Each test holds the session's row lock in its own transaction, so the request's write (which the
lock stops) is known to be in flight when the test acts: no timing guesses.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from sqlalchemy import func, select

from flowpilot_shared.db import Database
from flowpilot_shared.models import AiSession, Handoff, OutboxEvent
from tests.harness.broker import capture
from tests.harness.people import API, add_user, create_session, escalate, signup
from tests.harness.waiting import wait_until

ADD_STEP = """
INSERT INTO session_steps (id, session_id, author_id, kind, content) VALUES ($1, $2, $3, 'observation', $4)
"""


async def _blocked_by(conn: asyncpg.Connection, db: Database) -> int:
    """The backend (another connection) that waits for a lock `conn` holds."""
    holder = conn.get_server_pid()

    async def waiting() -> int | None:
        async with db.driver() as probe:
            pid: int | None = await probe.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", holder
            )
        return pid

    return await wait_until(waiting, message="the handoff's write waiting for the session's row lock")


async def _count(db: Database, model: type, session_id: uuid.UUID) -> int:
    async with db.sessions() as s:
        return int(
            await s.scalar(select(func.count()).select_from(model).where(model.session_id == session_id))
        )


async def test_step_added_while_escalating_is_in_the_event(api, amqp, db):
    captured = await capture(amqp, routing_key="handoff.escalated")
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token, steps=[("action", "Rebooted the server")])
    session_id = uuid.UUID(session["id"])
    async with db.driver() as conn:
        tx = conn.transaction()
        await tx.start()
        # What adding a step does (the session row locked and updated), not yet committed: the
        # handoff reads the session without it and its write waits for the lock.
        await conn.execute("UPDATE ai_sessions SET updated_at = now() WHERE id = $1", session_id)
        await conn.execute(ADD_STEP, uuid.uuid4(), session_id, junior.id, "Event log shows disk errors")
        request = asyncio.create_task(
            api.post(
                f"{API}/ai-sessions/{session_id}/handoff",
                headers=junior.headers,
                json={"intent": "escalate", "reason": "Disk failing?"},
            )
        )
        await _blocked_by(conn, db)
        await tx.commit()
    response = await request
    # The write found the session changed since its read, wrote nothing, read again and went ahead.
    assert response.status_code == 201, response.text

    async def published() -> list:
        return captured.of_account(tenant.account_id)

    [event] = await wait_until(published, message="the escalation's event")
    steps = [s["content"] for s in event["data"]["session"]["steps"]]
    assert steps == ["Rebooted the server", "Event log shows disk errors"]
    assert await _count(db, Handoff, session_id) == 1
    assert await _count(db, OutboxEvent, session_id) == 1


async def test_concurrent_escalations_of_one_session_one_wins(api, db):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    session_id = uuid.UUID(session["id"])
    url = f"{API}/ai-sessions/{session_id}/handoff"
    async with db.driver() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SELECT 1 FROM ai_sessions WHERE id = $1 FOR UPDATE", session_id)
        requests = [
            asyncio.create_task(
                api.post(url, headers=junior.headers, json={"intent": "escalate", "reason": reason})
            )
            for reason in ("first", "second")
        ]

        async def one_waiting() -> bool:
            async with db.driver() as probe:
                waiting = await probe.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                    conn.get_server_pid(),
                )
            return bool(waiting >= 1)

        await wait_until(one_waiting, message="a handoff write waiting for the session's row lock")
        await tx.commit()
    codes = sorted(r.status_code for r in await asyncio.gather(*requests))
    assert codes == [201, 409]
    assert await _count(db, Handoff, session_id) == 1
    assert await _count(db, OutboxEvent, session_id) == 1


async def test_write_cut_off_mid_statement_leaves_nothing(api, amqp, db):
    captured = await capture(amqp)
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    doomed = await create_session(api, junior.token, title="Doomed")
    marker = await create_session(api, junior.token, title="Marker")
    doomed_id = uuid.UUID(doomed["id"])
    async with db.driver() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SELECT 1 FROM ai_sessions WHERE id = $1 FOR UPDATE", doomed_id)
        request = asyncio.create_task(
            api.post(
                f"{API}/ai-sessions/{doomed_id}/handoff",
                headers=junior.headers,
                json={"intent": "escalate", "reason": "r"},
            )
        )
        writer = await _blocked_by(conn, db)
        # The connection is lost while its write is in flight (PostgreSQL restarting, a network cut).
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", writer)
        response = await request
        await tx.rollback()
    assert response.status_code == 503, response.text  # never a 2xx for an unsaved write
    assert response.headers["Retry-After"]
    await escalate(api, junior.token, marker["id"])

    async def marker_seen() -> bool:
        return any(b["session_id"] == marker["id"] for b in captured.of_account(tenant.account_id))

    await wait_until(marker_seen, message="later escalation published")
    assert not [b for b in captured.of_account(tenant.account_id) if b["session_id"] == doomed["id"]]
    assert await _count(db, Handoff, doomed_id) == 0
    assert await _count(db, OutboxEvent, doomed_id) == 0
    async with db.sessions() as s:
        row = await s.get(AiSession, doomed_id)
    assert row is not None and row.status == "active"
    # The session is untouched: escalating it now works, and that escalation is the one published.
    handoff = await escalate(api, junior.token, doomed["id"])

    async def doomed_seen() -> list:
        return [b for b in captured.of_account(tenant.account_id) if b["session_id"] == doomed["id"]]

    [event] = await wait_until(doomed_seen, message="the retried escalation published")
    assert event["data"]["handoff_id"] == handoff["id"]


async def test_deactivated_owner_cannot_hand_off(api, db):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    deactivated = await api.patch(
        f"{API}/users/{junior.id}", headers=tenant.owner.headers, json={"is_active": False}
    )
    assert deactivated.status_code == 200
    response = await api.post(
        f"{API}/ai-sessions/{session['id']}/handoff",
        headers=junior.headers,
        json={"intent": "escalate", "reason": "r"},
    )
    # The handoff authenticates in its own read: a still-valid token of a deactivated user is refused.
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert await _count(db, Handoff, uuid.UUID(session["id"])) == 0
