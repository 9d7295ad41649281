"""`OrmUnitOfWork`: the unit of work on a SQLAlchemy session (models read and written through it)."""

from __future__ import annotations

import contextlib
from types import TracebackType

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot_shared.db import driver_connection
from flowpilot_shared.outbox.wake import OUTBOX_WAKER
from flowpilot_shared.unit_of_work.base import UnitOfWork


class OrmUnitOfWork(UnitOfWork):
    """A session's transaction (SQLAlchemy opens it with the first statement); `session` is the ORM's."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__()
        self._sessions = sessions
        self.session: AsyncSession

    async def _begin(self) -> None:
        self.session = self._sessions()

    async def connection(self) -> asyncpg.Connection:
        """The asyncpg connection under the session, inside its transaction (`driver_connection`)."""
        return await driver_connection(self.session)

    async def _commit(self) -> None:
        await self.session.commit()

    async def _abandon(self) -> None:
        if self.session.in_transaction():
            await self.session.rollback()

    async def _discard(self) -> None:
        with contextlib.suppress(Exception):
            await self.session.invalidate()

    async def _release(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.session.close()

    def _poke_relay(self, *, soon: bool) -> None:
        waker = self.session.info.get(OUTBOX_WAKER)
        if waker is not None:
            waker.poke(soon=soon)
