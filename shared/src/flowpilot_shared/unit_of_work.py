"""The unit of work: the only thing that commits, so state and its events commit together."""

from __future__ import annotations

import contextlib
import uuid
from types import TracebackType
from typing import Any, Protocol, cast

import asyncpg
import structlog
from sqlalchemy import Table, bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot_shared.broker.topology import awaited
from flowpilot_shared.db import driver_connection
from flowpilot_shared.events import AnyEvent, event_exchange
from flowpilot_shared.models.messaging import InboxRecord
from flowpilot_shared.outbox.wake import OUTBOX_WAKER

# The outbox INSERT's head; `driver_uow.outbox_sql` builds on the same prefix. The relays are told
# after commit (`outbox.wake`), never by a NOTIFY inside the transaction.
OUTBOX_INSERT = "INSERT INTO outbox (id, exchange, routing_key, account_id, session_id, user_id, payload)"
OUTBOX_INSERT_PREFIX = f"{OUTBOX_INSERT} VALUES "
# Every staged event in one statement, however many (one array per column), in staged order.
OUTBOX_WRITE_SQL = f"""
{OUTBOX_INSERT}
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[]::jsonb[])
"""
log = structlog.get_logger(__name__)
# Built once (every consumed message runs it): table-level DML skips the ORM's bulk-insert path,
# and a reused statement object keeps its compiled-cache key.
_INBOX = cast(Table, InboxRecord.__table__)
INBOX_CLAIM = (
    insert(_INBOX)
    .values(consumer=bindparam("consumer"), event_id=bindparam("event_id"))
    .on_conflict_do_nothing()
    .returning(_INBOX.c.event_id)
)
# The same records as one driver-level statement (`Database.driver`), for any number of events.
INBOX_RECORD_SQL = (
    "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING "
    "RETURNING event_id"
)


def outbox_params(event: AnyEvent, *, user_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The outbox row's values for `event`, in column order (keys name the statement's parameters)."""
    return {
        "outbox_id": event.id,
        "outbox_exchange": event_exchange(event),
        "outbox_routing_key": event.type,
        "outbox_account_id": event.account_id,
        "outbox_session_id": event.session_id,
        "outbox_user_id": user_id,
        "outbox_payload": event.model_dump_json(),
    }


class StagedEvents:
    """Events staged in a transaction, written to the outbox at its commit in one statement.

    No ORM flush (which cost more than the rest of a typical handler) and one round trip however many.
    """

    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []
        # Whether a FlowPilot consumer waits for one of them (so the commit wakes the relay at once).
        self.awaited = False

    def __bool__(self) -> bool:
        return bool(self._rows)

    def add(self, event: AnyEvent, *, user_id: uuid.UUID | None = None) -> None:
        """Stage `event` (its outbox row is written by `write`)."""
        self._rows.append(tuple(outbox_params(event, user_id=user_id).values()))
        self.awaited = self.awaited or awaited(event.type)

    async def write(self, conn: asyncpg.Connection) -> None:
        """Write every staged row on `conn`, in staged order, and forget them."""
        rows = self._rows
        self.clear()
        if rows:
            await conn.execute(OUTBOX_WRITE_SQL, *(list(column) for column in zip(*rows, strict=True)))

    def clear(self) -> None:
        """Forget what was staged (written, or the transaction was abandoned)."""
        self._rows = []
        self.awaited = False


class EventUnit(Protocol):
    """What handlers and store functions need of either unit of work: its connection and the outbox."""

    async def connection(self) -> asyncpg.Connection:
        """The driver-level connection inside the unit's transaction."""
        ...

    def add_event(self, event: AnyEvent, *, user_id: uuid.UUID | None = None) -> None:
        """Stage an event: written to the outbox in this transaction, published after commit."""
        ...


class UnitOfWork:
    """One transaction: state writes, outbox rows and inbox records commit or vanish as one."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._events = StagedEvents()
        self.session: AsyncSession

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        self._events.clear()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.session.in_transaction():
                await self.session.rollback()
        except Exception as error:
            # Nothing was committed either way. A connection that cannot even roll back (PostgreSQL
            # restarting, an operation cut off mid-flight) is discarded instead of failing the caller
            # a second time, e.g. turning an API's 503 into a 500 after the response started.
            log.warning(
                "rollback failed; connection discarded", error=f"{type(error).__name__}: {error}"[:300]
            )
            with contextlib.suppress(Exception):
                await self.session.invalidate()
        finally:
            await self.session.close()

    def add_event(self, event: AnyEvent, *, user_id: uuid.UUID | None = None) -> None:
        """Stage an event: it is written to the outbox in this transaction and published after commit."""
        self._events.add(event, user_id=user_id)

    async def connection(self) -> asyncpg.Connection:
        """The asyncpg connection under the session, inside its transaction (`driver_connection`)."""
        return await driver_connection(self.session)

    async def claim_inbox(self, consumer: str, event_id: uuid.UUID) -> bool:
        """Record that `consumer` processes `event_id` now; False if it already did (a duplicate)."""
        inserted = await self.session.execute(INBOX_CLAIM, {"consumer": consumer, "event_id": event_id})
        return inserted.first() is not None

    async def commit(self) -> None:
        """Write the staged events, commit, then tell the active relay (`outbox.wake`) if someone
        waits for them (the others go out on its next pass)."""
        wake = self._events.awaited
        if self._events:
            await self._events.write(await driver_connection(self.session))
        await self.session.commit()
        waker = self.session.info.get(OUTBOX_WAKER)
        if wake and waker is not None:
            waker.poke()

    async def rollback(self) -> None:
        """Abandon everything staged in this transaction."""
        await self.session.rollback()
        self._events.clear()
