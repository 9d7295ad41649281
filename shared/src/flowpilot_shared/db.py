"""One async engine and session factory per process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from flowpilot_shared.settings import CoreSettings


@dataclass
class Database:
    """The engine and session factory a process shares between its requests and consumers."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # How many consumers of this process share the pool (each registers itself; see share_of_pool).
    consumers: int = 0

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> Database:
        """Build the engine from `FLOWPILOT_DATABASE_URL`."""
        engine = create_async_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=True,
            pool_recycle=1800,
        )
        return cls(engine=engine, sessions=async_sessionmaker(engine, expire_on_commit=False))

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
