"""One async engine and session factory per process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from flowpilot_shared.outbox.wake import OUTBOX_WAKER, OutboxWaker
from flowpilot_shared.settings import CoreSettings

# A connection idle this long is pinged before use (a restart of PostgreSQL is most often noticed by
# an idle pool). A busy pool is not: the asyncpg ping is three round trips (BEGIN, ";", ROLLBACK)
# on every checkout, and a disconnect met under load invalidates the whole pool anyway.
IDLE_PING_SECONDS = 2.0
# SQLSTATE classes of a database that is not there for anyone: connection exceptions (08),
# insufficient resources such as too many connections (53), operator intervention (57P: shutdown).
UNAVAILABLE_SQLSTATES = ("08", "53", "57P")


# SQLSTATE of a statement cancelled, by `statement_timeout` above all (or pg_cancel_backend).
QUERY_CANCELED = "57014"


def session_settings(settings: CoreSettings) -> dict[str, str]:
    """PostgreSQL settings every connection of a service opens with (SQLAlchemy's and raw asyncpg's)."""
    return {"statement_timeout": f"{round(settings.db_statement_timeout_seconds * 1000)}ms"}


def statement_cancelled(exc: BaseException | None) -> bool:
    """Whether `exc` (or what it wraps) is a statement PostgreSQL cut off (statement_timeout)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "sqlstate", None) == QUERY_CANCELED:
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` (or what it wraps) says the database is unreachable rather than the work wrong."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, ConnectionError | asyncpg.exceptions.ConnectionDoesNotExistError):
            return True
        # A connection confused by the server's unsolicited shutdown notice ("cannot switch to
        # state ..."): the connection is bad, not the work (seen while PostgreSQL restarts).
        if isinstance(exc, asyncpg.exceptions.InternalClientError):
            return True
        sqlstate = getattr(exc, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATES):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


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
    # Tells the active outbox relay of committed rows (made with the Database, on its pool).
    outbox_waker: OutboxWaker = field(init=False)
    # How many consumers of this process share the pool (each registers itself; see share_of_pool).
    consumers: int = 0

    def __post_init__(self) -> None:
        self.outbox_waker = OutboxWaker(self.driver)
        # An OrmUnitOfWork finds it on its session (`Session.info`): it is given only a session factory.
        for factory in (self.sessions, self.autocommit):
            factory.kw.setdefault("info", {})[OUTBOX_WAKER] = self.outbox_waker

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
            # The pool's connections serve the ORM and `driver()` alike: both are bound by it.
            connect_args={"server_settings": session_settings(settings)},
        )
        ping_after_idle(engine, seconds=IDLE_PING_SECONDS)
        return cls(
            engine=engine,
            sessions=async_sessionmaker(engine, expire_on_commit=False),
            autocommit=async_sessionmaker(
                engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
            ),
        )

    @asynccontextmanager
    async def driver(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection at the driver level, for the hottest few-statement steps.

        Plain asyncpg statements skip SQLAlchemy's per-statement work (statement building, cache
        keys, execution context, result wrapping): a one-row ledger insert costs a fraction of the
        CPU. Outside `conn.transaction()` every statement commits by itself.
        The connection goes back to the pool only when it is known to be sound: after success, or
        after PostgreSQL refused a statement (say a unique violation). Anything else (connection
        lost, a protocol error, a cancelled query) discards it.
        """
        # The pool's connection itself, without a Connection around it: two greenlet hops (check out,
        # return) instead of three and no Connection bookkeeping.
        pooled = await self._checkout()
        driver: asyncpg.Connection = pooled.driver_connection
        sound = False
        try:
            yield driver
            sound = True
        except BaseException as exc:
            sound = isinstance(exc, asyncpg.PostgresError) and not database_unavailable(exc)
            raise
        finally:
            # Never hand the next user a dead or half-done connection.
            if not sound or driver.is_closed() or driver.is_in_transaction():
                await greenlet_spawn(pooled.invalidate)
            await greenlet_spawn(pooled.close)

    async def _checkout(self) -> PoolProxiedConnection:
        """A pooled connection; a failure to connect raised as `engine.connect()` would raise it.

        The pool raises the driver's own error class; callers (the APIs' 503 mapping, consumers'
        outage handling) expect SQLAlchemy's wrapper of it, flagged when it means a lost server.
        """
        dialect = self.engine.dialect
        try:
            return await self.engine.raw_connection()
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                None,
                None,
                exc,
                dialect.loaded_dbapi.Error,
                connection_invalidated=dialect.is_disconnect(exc, None, None),
                dialect=dialect,
            ) from exc

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Send a relay wake-up still in flight, then close every pooled connection."""
        await self.outbox_waker.close()
        await self.engine.dispose()


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under an ORM session, inside the session's transaction.

    For a driver-level statement in the middle of a unit of work; the session owns the connection.
    SQLAlchemy opens the database transaction with its first statement: before that, a statement
    on the driver would commit on its own, outside the unit of work, so one is run through it first.
    """
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    if not driver.is_in_transaction():
        await session.execute(text("SELECT 1"))
    return driver


def asyncpg_dsn(database_url: str) -> str:
    """The plain libpq DSN (for asyncpg LISTEN connections) of a SQLAlchemy URL."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
