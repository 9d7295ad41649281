"""Per-account rate limit (429 + Retry-After); PostgreSQL down (503 on every path, the handoff's too)."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import make_url

from flowpilot_shared.security.tokens import issue_token
from tests.harness.api import api_settings, running_api
from tests.harness.people import API, PASSWORD, auth, signup


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
            await api.post(
                f"{API}/ai-sessions/{uuid.uuid4()}/handoff",
                headers=auth(token),
                json={"intent": "escalate", "reason": "r"},
            ),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"]
        assert (await api.get("/readyz")).status_code == 503
        assert (await api.get("/healthz")).status_code == 200
