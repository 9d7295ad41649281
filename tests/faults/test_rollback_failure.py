"""A rollback that fails (PostgreSQL restarting under load) never raises out of the unit of work.

Found by the fault suite (PostgreSQL restarted under load): a request failed, handoff-api answered
503, then the unit of work's rollback raised again ("cannot switch to state 15; another operation is
in progress") after the response had started, and the client got a 500.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import InternalError

from flowpilot_shared.unit_of_work import OrmUnitOfWork


@pytest.mark.faults
async def test_failed_rollback_discards_the_connection_and_raises_nothing_new(db, monkeypatch):
    async def broken_rollback() -> None:
        raise InternalError(
            "ROLLBACK", {}, Exception("cannot switch to state 15; another operation (2) is in progress")
        )

    with pytest.raises(RuntimeError, match="the request's own failure"):
        async with OrmUnitOfWork(db.sessions) as uow:
            await uow.session.execute(text("SELECT 1"))
            monkeypatch.setattr(uow.session, "rollback", broken_rollback)
            raise RuntimeError("the request's own failure")
    # The pool still hands out working connections.
    async with OrmUnitOfWork(db.sessions) as uow:
        assert (await uow.session.execute(text("SELECT 1"))).scalar() == 1


@pytest.mark.faults
async def test_failed_rollback_after_a_read_is_silent(db, monkeypatch):
    async def broken_rollback() -> None:
        raise InternalError("ROLLBACK", {}, Exception("connection lost"))

    async with OrmUnitOfWork(db.sessions) as uow:
        await uow.session.execute(text("SELECT 1"))
        monkeypatch.setattr(uow.session, "rollback", broken_rollback)
