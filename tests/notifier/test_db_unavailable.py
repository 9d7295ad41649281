"""A database outage (refused, too many clients, pool exhausted) answers 503 with Retry-After, never a 500."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from sqlalchemy import exc as sa_exc

from flowpilot_shared.security.tokens import issue_token
from notifier.app import create_app
from notifier.settings import NotifierSettings

TOO_MANY = asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")
OUTAGES = [
    pytest.param(TOO_MANY, id="asyncpg-too-many-clients"),
    pytest.param(
        asyncpg.exceptions.InternalClientError(
            "cannot switch to state 15; another operation (2) is in progress"
        ),
        id="asyncpg-connection-confused-by-shutdown",
    ),
    pytest.param(sa_exc.DBAPIError("SELECT 1", {}, TOO_MANY), id="wrapped-too-many-clients"),
    pytest.param(sa_exc.OperationalError("connect", {}, ConnectionRefusedError()), id="operational"),
    pytest.param(ConnectionRefusedError(111, "Connection refused"), id="refused"),
    pytest.param(sa_exc.TimeoutError("QueuePool limit reached"), id="pool-exhausted"),
]
PATHS = ["/api/v1/notifications", "/api/v1/notifications/unread-count", "/api/v1/notifications/deliveries"]


@pytest.mark.parametrize("error", OUTAGES)
async def test_database_outage_answers_503(error: Exception) -> None:
    settings = NotifierSettings(jwt_secret="test-secret-0123456789abcdef0123456789")
    app = create_app(settings)

    @contextlib.asynccontextmanager
    async def sessions() -> AsyncIterator[None]:
        raise error
        yield

    # No lifespan: the state the lifespan would set, with a database that refuses every session.
    app.state.settings = settings
    app.state.db = SimpleNamespace(sessions=sessions, autocommit=sessions, driver=sessions)
    token = issue_token(
        user_id=uuid.uuid4(), account_id=uuid.uuid4(), secret=settings.jwt_secret, ttl_seconds=60
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in PATHS:
            response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 503, (path, response.status_code, response.text)
            assert response.headers["retry-after"] == "5"
            assert response.json() == {"detail": "Database unavailable, try again shortly"}
