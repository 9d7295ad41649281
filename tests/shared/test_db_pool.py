"""The pool pings connections that sat idle, so a server-side disconnect while idle is invisible."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from flowpilot_shared.db import Database, driver_connection, ping_after_idle
from flowpilot_shared.settings import CoreSettings
from flowpilot_shared.unit_of_work import DriverUnitOfWork, OrmUnitOfWork


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _kill(db: Database, pid: int) -> None:
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})).scalar_one()
        await conn.commit()


@contextlib.asynccontextmanager
async def _probe_table(db: Database) -> AsyncIterator[str]:
    """A scratch table `(v int)` for the test, dropped afterwards."""
    name = f"probe_{uuid.uuid4().hex[:8]}"
    async with db.driver() as conn:
        await conn.execute(f"CREATE TABLE {name} (v int)")
    try:
        yield name
    finally:
        async with db.driver() as conn:
            await conn.execute(f"DROP TABLE {name}")


async def _values(db: Database, table: str) -> list[int]:
    async with db.driver() as conn:
        assert not conn.is_in_transaction()
        return sorted(r["v"] for r in await conn.fetch(f"SELECT v FROM {table}"))


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


async def _in_transaction_block(session: AsyncSession) -> bool:
    """SET LOCAL lasts until the end of a transaction block; outside one it lasts one statement."""
    await session.execute(text("SET LOCAL statement_timeout = 1234"))
    return (await session.execute(text("SHOW statement_timeout"))).scalar_one() == "1234ms"


async def test_autocommit_sessions_run_without_a_transaction(one_connection: Database) -> None:
    # One connection: the autocommit and the transactional session take turns on it.
    async with one_connection.autocommit() as session:
        assert not await _in_transaction_block(session)  # no BEGIN was sent
    async with one_connection.sessions() as session:
        assert await _in_transaction_block(session)  # the same connection, back in its normal mode
    async with one_connection.autocommit() as session:
        assert not await _in_transaction_block(session)


async def test_driver_connections_share_the_pool(one_connection: Database) -> None:
    # One connection: driver-level use and ORM sessions take turns on it.
    async with one_connection.driver() as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        # No transaction block: a statement's effect is committed when it returns.
        assert not conn.is_in_transaction()
        await conn.execute("SET statement_timeout = 4321")
    async with one_connection.sessions() as session:
        assert (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one() == pid
    async with one_connection.driver() as conn:
        async with conn.transaction():
            assert conn.is_in_transaction()
        assert await conn.fetchval("SELECT pg_backend_pid()") == pid


async def test_driver_connection_lost_in_use_is_replaced(db: Database, one_connection: Database) -> None:
    # What asyncpg raises depends on when it notices (shutdown notice, closed, protocol state).
    with pytest.raises(Exception):  # noqa: B017
        async with one_connection.driver() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await _kill(db, pid)
            await conn.fetchval("SELECT 1")
    # Invalidated on the way back: the next checkout gets a new backend, no error.
    async with one_connection.driver() as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") != pid
    # A statement PostgreSQL refused leaves the connection sound: it stays in the pool.
    async with one_connection.driver() as conn:
        kept = await conn.fetchval("SELECT pg_backend_pid()")
    with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
        async with one_connection.driver() as conn:
            await conn.fetchval("SELECT 1 / 0")
    async with one_connection.driver() as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") == kept


async def test_driver_unit_of_work_commits_or_leaves_nothing(one_connection: Database) -> None:
    async with _probe_table(one_connection) as name:
        with pytest.raises(RuntimeError):
            async with DriverUnitOfWork(one_connection) as uow:
                await uow.conn.execute(f"INSERT INTO {name} VALUES (1)")
                raise RuntimeError("a check failed after the write")
        async with DriverUnitOfWork(one_connection) as uow:
            await uow.conn.execute(f"INSERT INTO {name} VALUES (2)")
        async with DriverUnitOfWork(one_connection) as uow:  # not committed: rolled back on the way out
            await uow.conn.execute(f"INSERT INTO {name} VALUES (3)")
        async with DriverUnitOfWork(one_connection) as uow:
            await uow.conn.execute(f"INSERT INTO {name} VALUES (4)")
            await uow.commit()
        assert await _values(one_connection, name) == [4]


async def test_driver_connection_of_a_session_is_inside_its_transaction(one_connection: Database) -> None:
    async with _probe_table(one_connection) as name:
        async with OrmUnitOfWork(one_connection.sessions) as uow:
            # Before the session's first statement too: the transaction is begun, not skipped.
            await (await driver_connection(uow.session)).execute(f"INSERT INTO {name} VALUES (1)")
            await uow.session.execute(text(f"INSERT INTO {name} VALUES (2)"))
            # not committed: both writes go with the rollback
        async with OrmUnitOfWork(one_connection.sessions) as uow:
            await uow.session.execute(text(f"INSERT INTO {name} VALUES (3)"))
            await (await driver_connection(uow.session)).execute(f"INSERT INTO {name} VALUES (4)")
            await uow.commit()
        assert await _values(one_connection, name) == [3, 4]


async def test_driver_raises_connect_failures_as_engine_connect_does(core_settings: CoreSettings) -> None:
    """The APIs' 503 mapping and the consumers' outage handling see SQLAlchemy's wrapper either way."""
    missing = core_settings.database_url.rsplit("/", 1)[0] + f"/missing_{uuid.uuid4().hex[:8]}"
    db = Database.from_settings(core_settings.model_copy(update={"database_url": missing}))
    try:
        with pytest.raises(DBAPIError) as via_engine:
            async with db.engine.connect():
                pass
        with pytest.raises(DBAPIError) as via_driver:
            async with db.driver():
                pass
        assert type(via_driver.value) is type(via_engine.value)
        assert isinstance(via_driver.value.orig.__cause__, asyncpg.InvalidCatalogNameError)
    finally:
        await db.dispose()


async def test_pool_commits_wait_for_the_disk(db) -> None:
    """A handoff answered 2xx must survive a PostgreSQL crash: only the outbox relay, whose lost
    marks merely publish again, commits without waiting for the disk, on its own connection."""
    async with db.driver() as conn:
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
    async with OrmUnitOfWork(db.sessions) as uow:
        assert (await uow.session.execute(text("SHOW synchronous_commit"))).scalar_one() == "on"
