"""PostgreSQL shutting down mid-request answers 503, never 500.

Found by the fault suite (PostgreSQL restarted under load): asyncpg reports "the database system is
shutting down" (SQLSTATE 57P03) through a plain DBAPIError, which the API's text match ("shutdown")
missed, so the request answered 500.
"""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from flowpilot_shared.unit_of_work import DriverUnitOfWork, OrmUnitOfWork
from tests.harness.api import api_settings, running_api
from tests.harness.people import API, create_session, signup

SHUTTING_DOWN = "the database system is shutting down"


@pytest.mark.faults
async def test_database_shutting_down_answers_503(core_settings, monkeypatch):
    async with running_api(api_settings(core_settings, rate_limit_per_minute=0)) as api:
        tenant = await signup(api)
        session = await create_session(api, tenant.owner.token)

        async def orm_shutting_down(self: OrmUnitOfWork) -> None:
            # Through SQLAlchemy: a plain DBAPIError whose cause carries SQLSTATE 57P03.
            cause = asyncpg.exceptions.CannotConnectNowError(SHUTTING_DOWN)
            error = DBAPIError("COMMIT", {}, Exception(SHUTTING_DOWN))
            error.__cause__ = cause
            error.orig.__cause__ = cause  # type: ignore[union-attr]
            raise error

        async def driver_shutting_down(self: DriverUnitOfWork, query: str, *args: object) -> int:
            # The handoff's own unit of work speaks asyncpg directly (its write is its commit): the
            # error arrives unwrapped.
            raise asyncpg.exceptions.CannotConnectNowError(SHUTTING_DOWN)

        monkeypatch.setattr(OrmUnitOfWork, "commit", orm_shutting_down)
        monkeypatch.setattr(DriverUnitOfWork, "commit_statement", driver_shutting_down)
        for path, body in (
            (f"{API}/ai-sessions", {"title": "t", "problem": "p"}),
            (f"{API}/ai-sessions/{session['id']}/handoff", {"intent": "escalate", "reason": "r"}),
        ):
            response = await api.post(path, headers=tenant.owner.headers, json=body)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["Retry-After"]
