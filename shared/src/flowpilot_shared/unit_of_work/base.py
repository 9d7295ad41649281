"""The unit of work: the only thing that commits, so a state change and its events commit together.

One contract, two implementations named for what they run on: `OrmUnitOfWork` (a SQLAlchemy
session, for everything that reads and writes models) and `DriverUnitOfWork` (a pooled asyncpg
connection, for the hot paths: the handoff and every consumer's inbox transaction). Both

- begin a transaction on `async with` and roll back whatever was not committed when the block ends;
- stage events with `add_event` and write them to the outbox in the same transaction, at `commit`;
- record "consumer X processed event Y" with `claim_inbox` (the inbox), False for a duplicate;
- give the driver-level connection inside the transaction with `connection()`, so one store function
  serves either;
- after a commit that wrote an event some FlowPilot consumer waits for, wake the active outbox relay.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, Self

import asyncpg
import structlog

from flowpilot_shared.broker.topology import Wake, wake_for
from flowpilot_shared.events import AnyEvent, event_exchange
from flowpilot_shared.telemetry import outbox_context

log = structlog.get_logger(__name__)

# The outbox INSERT's head; `outbox_sql` builds on the same prefix. The relays are told after
# commit (`outbox.wake`), never by a NOTIFY inside the transaction.
OUTBOX_INSERT = (
    "INSERT INTO outbox (id, exchange, routing_key, account_id, session_id, user_id, payload, traceparent, "
    "request_id)"
)
OUTBOX_INSERT_PREFIX = f"{OUTBOX_INSERT} VALUES "
# Every staged event in one statement, however many (one array per column), in staged order.
OUTBOX_WRITE_SQL = f"""
{OUTBOX_INSERT}
SELECT * FROM unnest(
  $1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[]::jsonb[], $8::text[], $9::text[]
)
"""
# The inbox: one row per (consumer, event) it processed, for any number of events in one statement.
INBOX_RECORD_SQL = (
    "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING "
    "RETURNING event_id"
)


def outbox_params(event: AnyEvent, *, user_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The outbox row's values for `event`, in column order (keys name the statement's parameters).

    The row keeps the trace and the request it was written in: the relay publishes it as their child.
    """
    traceparent, request_id = outbox_context()
    return {
        "outbox_id": event.id,
        "outbox_exchange": event_exchange(event),
        "outbox_routing_key": event.type,
        "outbox_account_id": event.account_id,
        "outbox_session_id": event.session_id,
        "outbox_user_id": user_id,
        "outbox_payload": event.model_dump_json(),
        "outbox_traceparent": traceparent,
        "outbox_request_id": request_id,
    }


class StagedEvents:
    """Events staged in a transaction, written to the outbox at its commit in one statement.

    No ORM flush (which cost more than the rest of a typical handler) and one round trip however many.
    """

    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []
        # How soon the commit wakes the relay: as soon as the most urgent of them needs.
        self.wake = Wake.NONE

    def __bool__(self) -> bool:
        return bool(self._rows)

    def add(self, event: AnyEvent, *, user_id: uuid.UUID | None = None) -> None:
        """Stage `event` (its outbox row is written by `write`)."""
        self._rows.append(tuple(outbox_params(event, user_id=user_id).values()))
        self.wake = max(self.wake, wake_for(event.type))

    async def write(self, conn: asyncpg.Connection) -> None:
        """Write every staged row on `conn`, in staged order, and forget them."""
        rows = self._rows
        self.clear()
        if rows:
            await conn.execute(OUTBOX_WRITE_SQL, *(list(column) for column in zip(*rows, strict=True)))

    def clear(self) -> None:
        """Forget what was staged (written, or the transaction was abandoned)."""
        self._rows = []
        self.wake = Wake.NONE


class UnitOfWork(ABC):
    """One transaction: state writes, outbox rows and inbox records commit or vanish as one."""

    def __init__(self) -> None:
        self._events = StagedEvents()
        # How soon this transaction's outbox rows (written outside `add_event`) need the relay.
        self._wake_relay = Wake.NONE

    async def __aenter__(self) -> Self:
        self._events.clear()
        self._wake_relay = Wake.NONE
        await self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._abandon()
        except Exception as error:
            # Nothing was committed either way. A connection that cannot even roll back (PostgreSQL
            # restarting, an operation cut off mid-flight) is discarded instead of failing the caller
            # a second time, e.g. turning an API's 503 into a 500 after the response started.
            log.warning(
                "rollback failed; connection discarded", error=f"{type(error).__name__}: {error}"[:300]
            )
            await self._discard()
        finally:
            self._events.clear()
            await self._release(exc_type, exc, tb)

    def add_event(self, event: AnyEvent, *, user_id: uuid.UUID | None = None) -> None:
        """Stage an event: written to the outbox in this transaction, published after commit."""
        self._events.add(event, user_id=user_id)

    def outbox_args(self, event: AnyEvent, *, user_id: uuid.UUID | None = None) -> tuple[Any, ...]:
        """The values of `outbox_sql`'s parameters for `event`, for a statement of this transaction
        that writes its outbox row itself (one round trip less than `add_event`); the commit wakes
        the relay for it as for a staged one."""
        self._wake_relay = max(self._wake_relay, wake_for(event.type))
        return tuple(outbox_params(event, user_id=user_id).values())

    async def commit(self) -> None:
        """Write the staged events, commit, then wake the active relay if someone waits for them (the
        others go out on its next pass)."""
        wake = max(self._wake_relay, self._events.wake)
        if self._events:
            await self._events.write(await self.connection())
        await self._commit()
        self._wake_relay = Wake.NONE
        if wake:
            self._poke_relay(soon=wake == Wake.SOON)

    async def rollback(self) -> None:
        """Abandon everything written and staged in this transaction."""
        self._events.clear()
        await self._abandon()

    async def claim_inbox(self, consumer: str, event_id: uuid.UUID) -> bool:
        """Record that `consumer` processes `event_id` now; False if it already did (a duplicate)."""
        return bool(await self.claim_inbox_many(consumer, [event_id]))

    async def claim_inbox_many(self, consumer: str, event_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Record that `consumer` processes these events now; the ones it had not already."""
        conn = await self.connection()
        rows = await conn.fetch(INBOX_RECORD_SQL, consumer, list(dict.fromkeys(event_ids)))
        return {row["event_id"] for row in rows}

    @abstractmethod
    async def connection(self) -> asyncpg.Connection:
        """The driver-level connection, inside this unit's transaction."""

    @abstractmethod
    async def _begin(self) -> None:
        """Take a connection (or session) and open the transaction."""

    @abstractmethod
    async def _commit(self) -> None:
        """Commit the open transaction."""

    @abstractmethod
    async def _abandon(self) -> None:
        """Roll back the open transaction, if one is open."""

    @abstractmethod
    async def _discard(self) -> None:
        """Throw away a connection that could not roll back."""

    @abstractmethod
    async def _release(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Give the connection (or session) back."""

    @abstractmethod
    def _poke_relay(self, *, soon: bool) -> None:
        """Tell the active outbox relay there are rows someone waits for."""
