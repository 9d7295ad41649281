"""A unit of work on a driver-level connection, for the hottest write paths (the handoff, consumers).

Same contract as `UnitOfWork` (only it commits; whatever was not committed is rolled back), but its
statements are plain asyncpg ones on `Database.driver`: the handoff's two statements then cost a
fraction of the CPU they take through SQLAlchemy. The outbox row goes in with the state change, in
the same transaction: inside a statement through `outbox_sql` / `DriverUnitOfWork.outbox_args`, or
staged with `add_event` and written at commit (as `UnitOfWork` does).

A handler whose every write fits in one statement (data-modifying CTEs) may open it with
`single_statement=True`: no BEGIN and no COMMIT round trip, PostgreSQL commits that one statement as a
whole. Its reads then lock nothing, so the write must be guarded against what changed since (a
compare-and-set, e.g. on the row's `xmin`) and report how many rows it wrote.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import asyncpg
import structlog

from flowpilot_shared.broker.topology import awaited
from flowpilot_shared.db import Database
from flowpilot_shared.events import AnyEvent
from flowpilot_shared.unit_of_work import (
    INBOX_RECORD_SQL,
    OUTBOX_INSERT,
    OUTBOX_INSERT_PREFIX,
    StagedEvents,
    outbox_params,
)

log = structlog.get_logger(__name__)


# The outbox columns' types, for the parameters of `outbox_sql` (in `outbox_args` order).
_OUTBOX_TYPES = ("uuid", "text", "text", "uuid", "uuid", "uuid", "text::jsonb")


def outbox_sql(first: int, *, only_with: str | None = None) -> str:
    """The outbox INSERT with its seven parameters numbered from `first` (see `outbox_args`).

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


class DriverUnitOfWork:
    """One transaction on a pooled asyncpg connection: commit or vanish as one."""

    def __init__(self, db: Database, *, single_statement: bool = False) -> None:
        self._db = db
        self._single_statement = single_statement
        self._open = False
        # Whether this transaction writes an outbox row a FlowPilot consumer waits for.
        self._wake_relay = False
        self._events = StagedEvents()
        self._stack = contextlib.AsyncExitStack()
        self.conn: asyncpg.Connection

    async def __aenter__(self) -> DriverUnitOfWork:
        self.conn = await self._stack.enter_async_context(self._db.driver())
        if self._single_statement:
            return self
        try:
            self._transaction = self.conn.transaction()
            await self._transaction.start()
        except BaseException as exc:
            await self._stack.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._open:
                self._open = False
                await self._transaction.rollback()
        except Exception as error:
            # Nothing was committed. A connection that cannot even roll back is closed, so the
            # pool discards it, instead of failing the caller a second time.
            log.warning(
                "rollback failed; connection discarded", error=f"{type(error).__name__}: {error}"[:300]
            )
            self.conn.terminate()
        finally:
            await self._stack.__aexit__(exc_type, exc, tb)

    def outbox_args(self, event: AnyEvent, *, user_id: uuid.UUID | None = None) -> tuple[Any, ...]:
        """`outbox_args` of `event`, noting that this transaction writes its outbox row."""
        self._wake_relay = self._wake_relay or awaited(event.type)
        return outbox_args(event, user_id=user_id)

    async def connection(self) -> asyncpg.Connection:
        """The connection, inside the transaction (as `UnitOfWork.connection`)."""
        return self.conn

    def add_event(self, event: AnyEvent, *, user_id: uuid.UUID | None = None) -> None:
        """Stage an event, written to the outbox at commit (in a transaction, not `single_statement`)."""
        if self._single_statement:
            raise RuntimeError("a single-statement unit writes its outbox row in that statement")
        self._events.add(event, user_id=user_id)

    async def claim_inbox(self, consumer: str, event_id: uuid.UUID) -> bool:
        """Record that `consumer` processes `event_id` now; False if it already did (a duplicate)."""
        return bool(await self.claim_inbox_many(consumer, [event_id]))

    async def claim_inbox_many(self, consumer: str, event_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Record that `consumer` processes these events now; the ones it had not already."""
        rows = await self.conn.fetch(INBOX_RECORD_SQL, consumer, list(dict.fromkeys(event_ids)))
        return {row["event_id"] for row in rows}

    async def commit(self) -> None:
        """Write staged events, commit, then tell the active relay of rows someone waits for (`outbox.wake`)."""
        wake = self._wake_relay or self._events.awaited
        if self._open:
            await self._events.write(self.conn)
            self._open = False
            await self._transaction.commit()
        if wake:
            self._db.outbox_waker.poke()

    async def commit_statement(self, query: str, *args: Any) -> int:
        """Run the last writing statement and commit; the rows its outermost command wrote."""
        status = await self.conn.execute(query, *args)
        written = int(status.rsplit(" ", 1)[-1])
        await self.commit()
        return written
