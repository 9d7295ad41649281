"""Short transactions of a process that arrive together commit as one.

An escalation reaches the notifier's bell, email, chat and Teams queues at the same moment, and each
consumer's first step is a short transaction: the bell's inbox row and bell rows, each channel's
ledger rows (committed before any call). Four commits for one event, each on its own pooled
connection. Units of work that arrive within a few milliseconds of each other now run one after the
other in one transaction: one commit, one connection. Each caller still gets its result only once
that transaction has committed, so every guarantee holds as before: a ledger row is committed before
its call, an inbox row commits with its effects, an outbox row with its change.

If anything in a shared transaction fails, it rolls back and each unit runs again on its own, so
one consumer's fault never fails another's work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from flowpilot_shared.db import Database
from flowpilot_shared.unit_of_work.driver import DriverUnitOfWork

log = structlog.get_logger(__name__)

# How long a unit waits for company: messages of one event reach a process' consumers within about
# a millisecond of each other.
LINGER_SECONDS = 0.003
# The most units in one transaction.
LIMIT = 32

# A unit: database work inside the shared transaction (it must not commit; the group does).
Work = Callable[[DriverUnitOfWork], Awaitable[Any]]


class CommitGroup:
    """Runs units of work that arrive together in one transaction (one per process, shared)."""

    def __init__(self, db: Database, *, linger: float = LINGER_SECONDS) -> None:
        self._db = db
        self._linger = linger
        self._waiting: list[tuple[Work, asyncio.Future[Any]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def run(self, work: Work) -> Any:
        """`work`'s result once the transaction it ran in has committed (its own error if it failed
        alone)."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((work, done))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run_waiting(), name="commit-group")
        return await done

    async def _run_waiting(self) -> None:
        await asyncio.sleep(self._linger)
        # Units arriving while a transaction runs gather for the next one.
        while self._waiting:
            batch, self._waiting = self._waiting[:LIMIT], self._waiting[LIMIT:]
            await self._run_together(batch)

    async def _run_together(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        try:
            async with DriverUnitOfWork(self._db) as uow:
                results = [await work(uow) for work, _ in batch]
                await uow.commit()
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            log.info(
                "shared transaction failed; each unit runs alone",
                units=len(batch),
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
            for item in batch:
                await self._run_together([item])
            return
        except BaseException:  # cancelled: no caller waits on a transaction that is gone
            for _, done in batch:
                done.cancel()
            raise
        for (_, done), result in zip(batch, results, strict=True):
            _settle(done, result=result)


def _settle(done: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if done.done():  # its caller was cancelled meanwhile
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)
