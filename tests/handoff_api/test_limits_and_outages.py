"""Per-account rate limit (429 + Retry-After); PostgreSQL down or failing at commit (503, nothing written)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from flowpilot_shared.driver_uow import DriverUnitOfWork
from flowpilot_shared.models import AiSession, Handoff, OutboxEvent
from flowpilot_shared.security.tokens import issue_token
from tests.harness.api import api_settings, running_api
from tests.harness.broker import capture
from tests.harness.people import API, PASSWORD, add_user, auth, create_session, escalate, signup
from tests.harness.waiting import wait_until


async def test_rate_limit_per_account(core_settings):
    async with running_api(api_settings(core_settings, rate_limit_per_minute=5)) as api:
        busy = await signup(api)
        calm = await signup(api)
        codes = [(await api.get(f"{API}/auth/me", headers=busy.owner.headers)).status_code for _ in range(5)]
        assert codes == [200] * 5
        limited = await api.get(f"{API}/ai-sessions/queue", headers=busy.owner.headers)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        # Another account has its own budget.
        assert (await api.get(f"{API}/auth/me", headers=calm.owner.headers)).status_code == 200


async def test_database_down_answers_503(core_settings):
    closed_port = make_url(core_settings.database_url).set(host="127.0.0.1", port=1)
    settings = api_settings(core_settings, database_url=closed_port.render_as_string(hide_password=False))
    async with running_api(settings) as api:
        token = issue_token(
            user_id=uuid.uuid4(),
            account_id=uuid.uuid4(),
            secret=settings.jwt_secret,
            ttl_seconds=60,
        )
        signup_body = {
            "account_name": "Down",
            "owner_email": "down@example.com",
            "owner_name": "D",
            "owner_password": PASSWORD,
        }
        for response in (
            await api.post(f"{API}/accounts", json=signup_body),
            await api.post(f"{API}/auth/login", json={"email": "down@example.com", "password": PASSWORD}),
            await api.get(f"{API}/auth/me", headers=auth(token)),
            await api.post(f"{API}/ai-sessions", headers=auth(token), json={"title": "t", "problem": "p"}),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"]
        assert (await api.get("/readyz")).status_code == 503
        assert (await api.get("/healthz")).status_code == 200


async def test_commit_failure_after_outbox_insert_leaves_nothing(api, amqp, db, monkeypatch):
    captured = await capture(amqp)
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    doomed = await create_session(api, junior.token, title="Doomed")
    marker = await create_session(api, junior.token, title="Marker")
    real_commit = DriverUnitOfWork.commit

    async def failing_commit(self: DriverUnitOfWork) -> None:
        # The handoff, the session change and the outbox row are written (uncommitted)...
        assert await self.conn.fetchval("SELECT count(*) FROM handoffs WHERE session_id = $1", doomed_id) == 1
        raise ConnectionResetError("connection lost at commit")

    doomed_id = uuid.UUID(doomed["id"])
    monkeypatch.setattr(DriverUnitOfWork, "commit", failing_commit)
    response = await api.post(
        f"{API}/ai-sessions/{doomed['id']}/handoff",
        headers=junior.headers,
        json={"intent": "escalate", "reason": "r"},
    )
    monkeypatch.setattr(DriverUnitOfWork, "commit", real_commit)
    assert response.status_code == 503  # ...and rolled back: never a 2xx for an unsaved write
    await escalate(api, junior.token, marker["id"])

    async def marker_seen() -> bool:
        return any(b["session_id"] == marker["id"] for b in captured.of_account(tenant.account_id))

    await wait_until(marker_seen, message="later escalation published")
    assert not [b for b in captured.of_account(tenant.account_id) if b["session_id"] == doomed["id"]]
    async with db.sessions() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Handoff).where(Handoff.session_id == doomed_id))
            == 0
        )
        assert (
            await s.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.session_id == doomed_id)
            )
            == 0
        )
        row = await s.get(AiSession, doomed_id)
        assert row is not None and row.status == "active"
