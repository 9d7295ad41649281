"""A rollback that fails (PostgreSQL restarting under load) never raises out of the unit of work.

Found by the fault suite (PostgreSQL restarted under load): a request failed, handoff-api answered
503, then the unit of work's rollback raised again ("cannot switch to state 15; another operation is
in progress") after the response had started, and the client got a 500.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import InternalError

from flowpilot_shared.db import Database
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from tests.harness.waiting import wait_until


async def _backend_pid(uow: OrmUnitOfWork) -> int:
    return int((await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _assert_discarded(pool: Database, db: Database, old_pid: int) -> None:
    """The connection that could not roll back is closed, and the pool hands out a working new one."""
    async with OrmUnitOfWork(pool.sessions) as uow:
        assert await _backend_pid(uow) != old_pid, "the connection that failed to roll back was reused"

    async def backend_gone() -> bool:
        async with db.sessions() as s:
            query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            return (await s.execute(query, {"pid": old_pid})).scalar_one() == 0

    await wait_until(backend_gone, message=f"backend {old_pid} closed")


@pytest.mark.faults
async def test_failed_rollback_discards_the_connection_and_raises_nothing_new(
    one_connection: Database, db: Database, monkeypatch
):
    async def broken_rollback() -> None:
        raise InternalError(
            "ROLLBACK", {}, Exception("cannot switch to state 15; another operation (2) is in progress")
        )

    with pytest.raises(RuntimeError, match="the request's own failure"):
        async with OrmUnitOfWork(one_connection.sessions) as uow:
            pid = await _backend_pid(uow)
            monkeypatch.setattr(uow.session, "rollback", broken_rollback)
            raise RuntimeError("the request's own failure")
    await _assert_discarded(one_connection, db, pid)


@pytest.mark.faults
async def test_failed_rollback_after_a_read_is_silent(one_connection: Database, db: Database, monkeypatch):
    rolled_back: list[bool] = []

    async def broken_rollback() -> None:
        rolled_back.append(True)
        raise InternalError("ROLLBACK", {}, Exception("connection lost"))

    # A read that ends normally: the caller sees no error at all, not the rollback's.
    async with OrmUnitOfWork(one_connection.sessions) as uow:
        pid = await _backend_pid(uow)
        monkeypatch.setattr(uow.session, "rollback", broken_rollback)
    assert rolled_back == [True], "the unit of work never tried to roll back"
    await _assert_discarded(one_connection, db, pid)
