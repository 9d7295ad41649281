"""Units of work that arrive together share one commit; a failing one costs the others nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from flowpilot_shared.db import Database
from flowpilot_shared.unit_of_work import CommitGroup, DriverUnitOfWork


def _inbox_row(consumer: str, event_id: uuid.UUID, *, fail: bool = False):
    """A unit writing one inbox row; the transaction it ran in as its result."""

    async def work(uow: DriverUnitOfWork) -> int:
        await uow.conn.execute("INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)", consumer, event_id)
        if fail:
            raise ValueError("this unit's own fault")
        return int(await uow.conn.fetchval("SELECT txid_current()"))

    return work


async def _committed(db: Database, consumer: str) -> set[uuid.UUID]:
    async with db.driver() as conn:
        rows = await conn.fetch("SELECT event_id FROM inbox WHERE consumer = $1", consumer)
    return {r["event_id"] for r in rows}


async def test_units_arriving_together_commit_in_one_transaction_before_their_callers_resume(db):
    consumer = f"group-{uuid.uuid4()}"
    group = CommitGroup(db)
    ids = [uuid.uuid4() for _ in range(3)]

    async def one(event_id: uuid.UUID) -> tuple[int, set[uuid.UUID]]:
        txid = await group.run(_inbox_row(consumer, event_id))
        # Back in the caller: its row is committed (another connection sees it).
        return txid, await _committed(db, consumer)

    results = await asyncio.gather(*(one(i) for i in ids))
    assert len({txid for txid, _ in results}) == 1, "one transaction for the three"
    assert all(seen >= set(ids) for _, seen in results)


async def test_a_failing_unit_fails_alone_and_the_others_commit(db):
    consumer = f"group-{uuid.uuid4()}"
    group = CommitGroup(db)
    good, bad, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    outcomes = await asyncio.gather(
        group.run(_inbox_row(consumer, good)),
        group.run(_inbox_row(consumer, bad, fail=True)),
        group.run(_inbox_row(consumer, other)),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], ValueError)
    assert await _committed(db, consumer) == {good, other}
    # After the shared transaction rolled back, each ran again on its own.
    assert outcomes[0] != outcomes[2]


async def test_a_unit_alone_raises_its_own_error(db):
    group = CommitGroup(db)
    with pytest.raises(ValueError, match="own fault"):
        await group.run(_inbox_row(f"group-{uuid.uuid4()}", uuid.uuid4(), fail=True))
