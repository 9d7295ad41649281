"""The pool pings connections that sat idle, so a server-side disconnect while idle is invisible."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from flowpilot_shared.db import Database, ping_after_idle
from flowpilot_shared.settings import CoreSettings


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _kill(db: Database, pid: int) -> None:
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})).scalar_one()
        await conn.commit()


@pytest.mark.parametrize("idle_threshold", [0.0, 3600.0], ids=["idle-pinged", "busy-not-pinged"])
async def test_connection_killed_while_idle(
    db: Database, core_settings: CoreSettings, idle_threshold: float
) -> None:
    engine = create_async_engine(core_settings.database_url, pool_size=1, max_overflow=0)
    ping_after_idle(engine, seconds=idle_threshold)
    try:
        first = await _backend_pid(engine)
        await _kill(db, first)
        if idle_threshold == 0.0:
            # Pinged on checkout: the dead connection is replaced before the query ever sees it.
            assert await _backend_pid(engine) != first
        else:
            # Not idle long enough to be pinged: the one query on it fails, then the pool recovers.
            with pytest.raises(DBAPIError):
                await _backend_pid(engine)
            assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()
