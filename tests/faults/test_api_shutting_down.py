"""PostgreSQL shutting down mid-request answers 503, never 500.

Found by the fault suite (PostgreSQL restarted under load): asyncpg reports "the database system is
shutting down" (SQLSTATE 57P03) through a plain DBAPIError, which the API's text match ("shutdown")
missed, so the request answered 500.
"""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from flowpilot_shared.unit_of_work import UnitOfWork
from tests.harness.api import api_settings, running_api
from tests.harness.people import API, create_session, signup


@pytest.mark.faults
async def test_database_shutting_down_answers_503(core_settings, monkeypatch):
    async with running_api(api_settings(core_settings, rate_limit_per_minute=0)) as api:
        tenant = await signup(api)
        session = await create_session(api, tenant.owner.token)

        async def shutting_down(self: UnitOfWork) -> None:
            cause = asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")
            error = DBAPIError("COMMIT", {}, Exception("the database system is shutting down"))
            error.__cause__ = cause
            error.orig.__cause__ = cause  # type: ignore[union-attr]
            raise error

        monkeypatch.setattr(UnitOfWork, "commit", shutting_down)
        response = await api.post(
            f"{API}/ai-sessions/{session['id']}/handoff",
            headers=tenant.owner.headers,
            json={"intent": "escalate", "reason": "r"},
        )
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"]
