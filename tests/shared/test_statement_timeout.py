"""FLOWPILOT_DB_STATEMENT_TIMEOUT_SECONDS: a runaway statement is cut off on every kind of connection."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from flowpilot_shared.db import Database, session_settings, statement_cancelled
from flowpilot_shared.outbox.active import connect_when_active
from flowpilot_shared.settings import CoreSettings
from tests.harness.api import api_settings, running_api
from tests.harness.people import API, add_user, signup

RUNAWAY = "SELECT pg_sleep(30)"


@pytest.fixture
async def bounded_db(core_settings: CoreSettings):
    database = Database.from_settings(core_settings.model_copy(update={"db_statement_timeout_seconds": 0.5}))
    yield database
    await database.dispose()


async def test_orm_sessions_are_cut_off(bounded_db):
    started = time.monotonic()
    with pytest.raises(DBAPIError) as caught:
        async with bounded_db.sessions() as session:
            await session.execute(text(RUNAWAY))
    assert statement_cancelled(caught.value)
    assert time.monotonic() - started < 15
    async with bounded_db.sessions() as session:  # the connection is usable again
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1


async def test_driver_connections_are_cut_off(bounded_db):
    started = time.monotonic()
    with pytest.raises(asyncpg.exceptions.QueryCanceledError):
        async with bounded_db.driver() as conn:
            await conn.execute(RUNAWAY)
    assert time.monotonic() - started < 15
    async with bounded_db.driver() as conn:
        assert await conn.fetchval("SHOW statement_timeout") == "500ms"


async def test_the_relays_own_connection_is_bound_too(core_settings):
    settings = core_settings.model_copy(update={"db_statement_timeout_seconds": 0.5})
    conn = await asyncio.wait_for(
        connect_when_active(settings.database_url, server_settings=session_settings(settings)), timeout=60
    )
    try:
        assert await conn.fetchval("SHOW statement_timeout") == "500ms"
        # The relay's own planner settings still apply beside it.
        assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
        with pytest.raises(asyncpg.exceptions.QueryCanceledError):
            await conn.execute(RUNAWAY)
    finally:
        await conn.close()


async def test_a_request_stuck_on_a_lock_answers_503_and_changes_nothing(core_settings, db):
    settings = api_settings(core_settings, rate_limit_per_minute=0, db_statement_timeout_seconds=1.0)
    async with running_api(settings) as api:
        tenant = await signup(api)
        engineer = await add_user(api, tenant)
        async with db.sessions() as session, session.begin():
            # Someone holds the user's row (a long maintenance transaction, a stuck worker).
            await session.execute(text("SELECT 1 FROM users WHERE id = :id FOR UPDATE"), {"id": engineer.id})
            answer = await asyncio.wait_for(
                api.patch(
                    f"{API}/users/{engineer.id}", headers=tenant.owner.headers, json={"role": "viewer"}
                ),
                timeout=30,
            )
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] and answer.json()["detail"] == "Database busy, try again shortly"
        me = await api.get(f"{API}/auth/me", headers=engineer.headers)
        assert me.json()["role"] == "engineer"
