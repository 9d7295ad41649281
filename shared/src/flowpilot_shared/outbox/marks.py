"""Published rows waiting for their mark, which rides on the relay's next read.

Marking each pass in a statement of its own made two commits of every relay pass (the read and the
mark), and under load a pass runs for nearly every commit of the system. A pass now only notes what
went out; the next read marks it in the same statement (a data-modifying CTE runs whether or not the
query reads it) and leaves those rows out of what it returns. A quiet relay still reads once per poll
interval, so no mark waits longer than that. The mark never was a promise: a relay that dies before
it re-publishes the rows, which the consumers' inboxes absorb, exactly as a crash between publish and
mark did before; and stream replay counts rows not yet marked as not yet behind any cursor.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from flowpilot_shared.outbox.partitions import Partition
from flowpilot_shared.outbox.pending import SELECT_PENDING

# The rows to mark and when their pass read them: both times on the database's clock, so the relay's
# host clock (and a failover to another host) never puts them out of order.
MARK_ROWS = """
UPDATE outbox AS m SET published_at = now(), publish_started_at = t.read_at
FROM unnest($1::uuid[], $2::timestamptz[]) AS t(id, read_at)
WHERE m.id = t.id
"""
MARK_THEN_SELECT_PENDING = (
    "WITH marked AS (" + MARK_ROWS.replace("$1", "$5").replace("$2", "$6") + ")" + SELECT_PENDING
)


@dataclass
class PendingMarks:
    """Rows published and confirmed, not yet marked; taken by the statement that marks them."""

    _ids: list[uuid.UUID] = field(default_factory=list)
    _read_at: list[datetime] = field(default_factory=list)

    def add(self, ids: list[uuid.UUID], read_at: datetime) -> None:
        """A pass published `ids` (it read them at `read_at`)."""
        self._ids.extend(ids)
        self._read_at.extend([read_at] * len(ids))

    def __bool__(self) -> bool:
        return bool(self._ids)

    def ids(self) -> list[uuid.UUID]:
        """What is waiting (a read must not return these again)."""
        return list(self._ids)

    def take(self) -> tuple[list[uuid.UUID], list[datetime]]:
        """Everything waiting, as the statement's two arrays; `give_back` if it did not commit."""
        taken = (self._ids, self._read_at)
        self._ids, self._read_at = [], []
        return taken

    def give_back(self, taken: tuple[list[uuid.UUID], list[datetime]]) -> None:
        """The marking statement failed: its rows wait for the next one."""
        self._ids[:0], self._read_at[:0] = taken


async def read_pending(
    conn: asyncpg.Connection,
    marks: PendingMarks,
    *,
    partition: Partition,
    batch: int,
    in_flight: Iterable[uuid.UUID],
) -> list[asyncpg.Record]:
    """Up to `batch` of the partition's pending rows not in flight, marking what `marks` holds in the
    same statement."""
    which = (list(partition.types), partition.default)
    if not marks:
        return list(await conn.fetch(SELECT_PENDING, batch, list(in_flight), *which))
    taken = marks.take()
    try:
        return list(
            await conn.fetch(MARK_THEN_SELECT_PENDING, batch, [*in_flight, *taken[0]], *which, *taken)
        )
    except BaseException:
        marks.give_back(taken)
        raise


async def flush(conn: asyncpg.Connection, marks: PendingMarks) -> None:
    """Mark what `marks` holds now, in a statement of its own."""
    if not marks:
        return
    taken = marks.take()
    try:
        await conn.execute(MARK_ROWS, *taken)
    except BaseException:
        marks.give_back(taken)
        raise
