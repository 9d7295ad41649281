"""Rows deferred to commit: every handler's in one write, inside the transaction, or not at all."""

from __future__ import annotations

import pytest

from flowpilot_shared.unit_of_work import DriverUnitOfWork


class Writer:
    """A deferred write that records what it wrote and in which transaction."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], int]] = []

    async def __call__(self, conn, rows: list[int]) -> None:
        self.calls.append((rows, await conn.fetchval("SELECT txid_current()")))


async def test_rows_deferred_by_several_handlers_are_written_once_in_the_transaction(db):
    write = Writer()
    async with DriverUnitOfWork(db) as uow:
        uow.defer(write, [1, 2])  # one handler's rows
        uow.defer(write, [3])  # the next one's
        uow.defer(write, [])
        assert write.calls == []
        txid = await uow.conn.fetchval("SELECT txid_current()")
        await uow.commit()
    assert write.calls == [([1, 2, 3], txid)]


async def test_rows_of_a_transaction_that_did_not_commit_are_never_written(db):
    write = Writer()
    uow = DriverUnitOfWork(db)
    with pytest.raises(RuntimeError):
        async with uow:
            uow.defer(write, [1])
            raise RuntimeError("a handler failed")
    async with uow:  # the same unit of work, its next transaction
        uow.defer(write, [2])
        await uow.rollback()
    async with uow:
        uow.defer(write, [3])
        await uow.commit()
    assert [rows for rows, _ in write.calls] == [[3]]
