"""Ledger claims of the channels that arrive together share one transaction.

An escalation reaches the email, chat and Teams queues at the same moment, and each channel's first
step is a short transaction: read its targets, write their ledger rows, commit, before any call.
Three commits for one event, each its own pooled connection. Claims that arrive within a few
milliseconds of each other now run one after the other in one transaction: one commit, one
connection, and still every row is committed before any call is made (each caller gets its result
only once the transaction has committed).

If anything in a shared transaction fails, it rolls back and each claim runs again on its own, so one
channel's fault never fails another's claim.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

from notifier.channels.ledger import Connect

log = structlog.get_logger(__name__)

# How long a claim waits for company: the channels' messages of one event are taken within about a
# millisecond of each other, and a claim precedes calls that take longer than this anyway.
LINGER_SECONDS = 0.003
# The most claims in one transaction.
LIMIT = 32

Claim = Callable[[asyncpg.Connection], Awaitable[Any]]


class ClaimGroup:
    """Runs claims (`work(conn)` inside a transaction) that arrive together in one transaction."""

    def __init__(self, connect: Connect, *, linger: float = LINGER_SECONDS) -> None:
        self._connect = connect
        self._linger = linger
        self._waiting: list[tuple[Claim, asyncio.Future[Any]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def run(self, work: Claim) -> Any:
        """`work`'s result once the transaction it ran in has committed (its own error if it failed alone)."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((work, done))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run_waiting(), name="notifier-ledger-claims")
        return await done

    async def _run_waiting(self) -> None:
        await asyncio.sleep(self._linger)
        # Claims arriving while a transaction runs gather for the next one.
        while self._waiting:
            batch, self._waiting = self._waiting[:LIMIT], self._waiting[LIMIT:]
            await self._run_together(batch)

    async def _run_together(self, batch: list[tuple[Claim, asyncio.Future[Any]]]) -> None:
        try:
            async with self._connect() as conn, conn.transaction():
                results = [await work(conn) for work, _ in batch]
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            log.info(
                "shared claim transaction failed; each claim runs alone",
                claims=len(batch),
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
