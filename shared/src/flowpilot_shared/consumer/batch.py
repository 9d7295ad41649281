"""Several ready messages of one consumer in one inbox transaction.

Under load a consumer's messages arrive faster than it commits them one by one, and each commit is a
pooled connection checked out, BEGIN, an inbox row, the staged events, COMMIT and a relay wake-up.
A consumer keeps at most two such transactions in flight; messages that are ready meanwhile wait
here, and whichever of them next gets a turn takes every waiting one (up to a limit) into one
transaction: one inbox statement for all, each handler in turn, one commit. Each event still gets
its inbox row in the same transaction as its effects, so the guarantees are the same as one by one;
a quiet queue still sees batches of one.

Only for handlers that talk to the database alone: a handler that calls out (a PSA, a chat API) would
hold every other event of its batch until the call returned. If anything in a batch fails, the whole
transaction rolls back and each of its messages is handled on its own, so one event's fault never
costs another an attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import structlog
from aio_pika.abc import AbstractIncomingMessage

from flowpilot_shared.consumer.metrics import BATCH_SIZE
from flowpilot_shared.db import Database
from flowpilot_shared.events import AnyEvent
from flowpilot_shared.unit_of_work import CommitGroup, DriverUnitOfWork

log = structlog.get_logger(__name__)

# Transactions of one consumer in flight at once: while one commits, the messages arriving meanwhile
# gather for the next. With a turn free for every message, each would run alone and nothing would
# ever be gathered (at most the process' share of the pool, as unbatched consumers).
TURNS = 2


@dataclass
class ReadyMessage:
    """A parsed message waiting for its inbox transaction."""

    event: AnyEvent
    message: AbstractIncomingMessage
    facts: dict[str, object]
    attempt: int
    # The outcome ("processed" / "duplicate"), None if its batch failed (handle it on its own), or
    # the handler's error when it was alone.
    outcome: asyncio.Future[str | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


# Runs one message's handler inside an open unit of work (its inbox row already claimed).
Apply = Callable[[DriverUnitOfWork, ReadyMessage], Awaitable[str]]


class InboxBatcher:
    """Gathers one consumer's ready messages and handles each gathering in one transaction."""

    def __init__(
        self,
        *,
        consumer: str,
        db: Database,
        slots: asyncio.Semaphore,
        limit: int,
        apply: Apply,
        linger: float = 0.0,
        group: CommitGroup | None = None,
        inbox: bool = True,
    ) -> None:
        self._consumer = consumer
        self._db = db
        self._slots = slots
        self._turns = asyncio.Semaphore(TURNS)
        self._limit = limit
        self._apply = apply
        # Seconds a message waits for others before taking a turn: a consumer nobody waits on (a
        # projection) trades that much latency for fewer commits when its messages trickle in.
        self._linger = linger
        self._waiting: list[ReadyMessage] = []
        # The process' shared transactions, when its other consumers' work may share this commit.
        self._group = group
        # False: the handler's own rows are its tracking records (`Consumer(inbox=False)`).
        self._inbox = inbox

    async def handle(self, ready: ReadyMessage) -> str | None:
        """The message's outcome once its batch committed; None if a batch of several failed."""
        self._waiting.append(ready)
        if self._linger > 0:
            return await self._after_linger(ready)
        # Every message that waits also takes a turn with a connection, and each turn takes at least
        # one waiting message: so no message is left waiting once every turn has been taken.
        async with self._turns, self._slots:
            await self._run_waiting()
        return await ready.outcome

    async def _after_linger(self, ready: ReadyMessage) -> str | None:
        """Linger, then take a turn unless an earlier message's batch took this one meanwhile.

        So a batch holds what arrived during one message's linger, not just what arrived since the
        previous message woke. A message still waiting after its turn (more than a batch waited)
        takes another: none is left waiting.
        """
        await asyncio.sleep(self._linger)
        while any(waiting is ready for waiting in self._waiting):
            async with self._turns, self._slots:
                await self._run_waiting()
        return await ready.outcome

    async def _run_waiting(self) -> None:
        batch, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
        if batch:
            await self._run(batch)

    async def _run(self, batch: Sequence[ReadyMessage]) -> None:
        outcomes: list[str | None] = [None] * len(batch)
        error: Exception | None = None
        committed = False
        try:
            if self._group is not None:
                outcomes = await self._group.run(lambda uow: self._apply_all(uow, batch))
            else:
                async with DriverUnitOfWork(self._db) as uow:
                    outcomes = await self._apply_all(uow, batch)
                    await uow.commit()
            committed = True
        except Exception as exc:
            error = exc
            if len(batch) > 1:
                log.info(
                    "batch failed; its messages are handled one by one",
                    consumer=self._consumer,
                    messages=len(batch),
                    error=f"{type(exc).__name__}: {exc}"[:300],
                )
        finally:
            # Settled even when cancelled (then as failed): no message waits on a batch that is gone.
            for ready, outcome in zip(batch, outcomes, strict=True):
                if ready.outcome.done():
                    continue
                if committed:
                    ready.outcome.set_result(outcome)
                elif error is not None and len(batch) == 1:
                    ready.outcome.set_exception(error)  # alone already: its own failure, as unbatched
                else:
                    ready.outcome.set_result(None)
        BATCH_SIZE.labels(self._consumer).observe(len(batch))

    async def _apply_all(self, uow: DriverUnitOfWork, batch: Sequence[ReadyMessage]) -> list[str | None]:
        """Every message's inbox row and handler in `uow`; their outcomes (the caller commits)."""
        outcomes: list[str | None] = []
        ids = [r.event.id for r in batch]
        unclaimed = await uow.claim_inbox_many(self._consumer, ids) if self._inbox else set(ids)
        for ready in batch:
            if ready.event.id in unclaimed:
                unclaimed.discard(ready.event.id)  # a second copy in one batch is a duplicate
                outcomes.append(await self._apply(uow, ready))
            else:
                outcomes.append("duplicate")
        return outcomes
