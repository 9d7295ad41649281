"""`DriverUnitOfWork`: the unit of work on a pooled asyncpg connection, for the hottest write paths
(the handoff, every consumer's inbox transaction): plain `$n` statements cost a fraction of the CPU
they take through SQLAlchemy.

The outbox row goes in with the state change, in the same transaction: inside a statement through
`outbox_sql` / `DriverUnitOfWork.outbox_args`, or staged with `add_event` and written at commit.

A handler whose every write fits in one statement (data-modifying CTEs) may open it with
`single_statement=True`: no BEGIN and no COMMIT round trip, PostgreSQL commits that one statement as a
whole. Its reads then lock nothing, so the write must be guarded against what changed since (a
compare-and-set, e.g. on the row's `xmin`) and report how many rows it wrote.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Hashable
from types import TracebackType
from typing import Any

import asyncpg

from flowpilot_shared.db import Database
from flowpilot_shared.events import AnyEvent
from flowpilot_shared.unit_of_work.base import OUTBOX_INSERT, OUTBOX_INSERT_PREFIX, UnitOfWork, outbox_params

# The outbox columns' types, for the parameters of `outbox_sql` (in `outbox_args` order).
_OUTBOX_TYPES = ("uuid", "text", "text", "uuid", "uuid", "uuid", "text::jsonb", "text", "text")


def outbox_sql(first: int, *, only_with: str | None = None) -> str:
    """The outbox INSERT with its parameters (one per column) numbered from `first` (see `outbox_args`).

    With `only_with` (a CTE of the same statement) the row goes in once per row of it: none when the
    guarded write it names changed nothing.
    """
    values = ", ".join(f"${i}::{t}" for i, t in enumerate(_OUTBOX_TYPES, start=first))
    if only_with is None:
        return f"{OUTBOX_INSERT_PREFIX}({values})"
    return f"{OUTBOX_INSERT} SELECT {values} FROM {only_with}"


def outbox_args(event: AnyEvent, *, user_id: uuid.UUID | None = None) -> tuple[Any, ...]:
    """The values of `outbox_sql`'s parameters for `event`, in order."""
    return tuple(outbox_params(event, user_id=user_id).values())


class DriverUnitOfWork(UnitOfWork):
    """One transaction on a pooled asyncpg connection (`conn`): commit or vanish as one."""

    def __init__(self, db: Database, *, single_statement: bool = False) -> None:
        super().__init__()
        self._db = db
        self._single_statement = single_statement
        self._transaction: asyncpg.transaction.Transaction | None = None
        self._stack = contextlib.AsyncExitStack()
        self.conn: asyncpg.Connection
        # What the units of work sharing this transaction (`CommitGroup`) read for each other: one
        # reads what all of them need, the others find it here (gone with the transaction).
        self.memo: dict[Hashable, Any] = {}

    async def _begin(self) -> None:
        self.memo = {}
        self.conn = await self._stack.enter_async_context(self._db.driver())
        if self._single_statement:
            return
        try:
            transaction = self.conn.transaction()
            await transaction.start()
        except BaseException as exc:
            await self._stack.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        self._transaction = transaction

    async def connection(self) -> asyncpg.Connection:
        """The connection, inside the transaction."""
        return self.conn

    def add_event(self, event: AnyEvent, *, user_id: uuid.UUID | None = None) -> None:
        """Stage an event, written to the outbox at commit (in a transaction, not `single_statement`)."""
        if self._single_statement:
            raise RuntimeError("a single-statement unit writes its outbox row in that statement")
        super().add_event(event, user_id=user_id)

    async def commit_statement(self, query: str, *args: Any) -> int:
        """Run the last writing statement and commit; the rows its outermost command wrote."""
        status = await self.conn.execute(query, *args)
        written = int(status.rsplit(" ", 1)[-1])
        await self.commit()
        return written

    async def _commit(self) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            await transaction.commit()

    async def _abandon(self) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            await transaction.rollback()

    async def _discard(self) -> None:
        # A closed connection is dropped by the pool instead of being handed out again.
        self.conn.terminate()

    async def _release(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.__aexit__(exc_type, exc, tb)

    def _poke_relay(self, *, soon: bool) -> None:
        self._db.outbox_waker.poke(soon=soon)
