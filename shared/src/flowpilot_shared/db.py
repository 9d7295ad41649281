"""One async engine and session factory per process."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from flowpilot_shared.settings import CoreSettings

# A connection idle this long is pinged before use (a restart of PostgreSQL is most often noticed by
# an idle pool). A busy pool is not: the asyncpg ping is three round trips (BEGIN, ";", ROLLBACK)
# on every checkout, and a disconnect met under load invalidates the whole pool anyway.
IDLE_PING_SECONDS = 2.0


def ping_after_idle(engine: AsyncEngine, *, seconds: float) -> None:
    """Pessimistic disconnect handling for connections idle `seconds` or more, none for busy ones."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _stamp(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("connection went away while idle") from exc


@dataclass
class Database:
    """The engine and session factory a process shares between its requests and consumers."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Same pool, no transaction: for one-statement reads (the per-request auth lookup), which then
    # cost one round trip instead of three (BEGIN, the query, ROLLBACK).
    autocommit: async_sessionmaker[AsyncSession]
    # How many consumers of this process share the pool (each registers itself; see share_of_pool).
    consumers: int = 0

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> Database:
        """Build the engine from `FLOWPILOT_DATABASE_URL`."""
        # Up to pool + overflow connections, each opened on first need and then kept: SQLAlchemy
        # closes a true overflow connection on return, and under bursty consumer load that meant a
        # new PostgreSQL backend (fork, authentication) for nearly every burst (~170 in 15 s at 30
        # escalations/s in the benchmark), costing both sides more than the statements themselves.
        engine = create_async_engine(
            settings.database_url,
            pool_size=settings.db_pool_size + settings.db_max_overflow,
            max_overflow=0,
            pool_recycle=1800,
        )
        ping_after_idle(engine, seconds=IDLE_PING_SECONDS)
        return cls(
            engine=engine,
            sessions=async_sessionmaker(engine, expire_on_commit=False),
            autocommit=async_sessionmaker(
                engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
            ),
        )

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def asyncpg_dsn(database_url: str) -> str:
    """The plain libpq DSN (for asyncpg LISTEN connections) of a SQLAlchemy URL."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
