"""Runs a handler per event: dedupe by event id and effects in one transaction, ack after commit.

Transient failures are retried in-process with exponential backoff (honouring `retry_after`) up
to `consumer_max_attempts`; then, or at once for poison and `PermanentError`, the message is
published to the queue's dead-letter queue with the reason in headers and acked. A crash loop
is caught by the quorum queue's own `x-delivery-limit`.

A handler that finds its effect already made (by a concurrent replica) returns `ALREADY_DONE`, so
metrics say so. A consumer whose own rows are its tracking records (channel sends through their
ledger, docgen's documentation) has a `deliver` step instead of a handler: the runtime writes no inbox
row and opens no transaction for it (the step returns `ALREADY_DONE` when it found everything already
done). Slow work (a model call) belongs there, before anything is written, never inside a handler's
inbox transaction.

Every consumer is this class, built with keyword arguments beside its handler (a `consumer(...)`
function in the handler's module); services list theirs in their app's consumer factory.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from pydantic import ValidationError

from flowpilot_shared.broker.topology import QueueSpec, declare_queue
from flowpilot_shared.closing import Closable, close_quietly, finish_or_cancel
from flowpilot_shared.consumer import contract
from flowpilot_shared.consumer.batch import InboxBatcher, ReadyMessage
from flowpilot_shared.consumer.copies import CopiesInFlight
from flowpilot_shared.consumer.dead_letter import dead_letter
from flowpilot_shared.consumer.metrics import EVENT_LAG, HANDLE_SECONDS, PROCESSED
from flowpilot_shared.db import Database, database_unavailable
from flowpilot_shared.errors import PermanentError, TransientError
from flowpilot_shared.events import AnyEvent, parse_event
from flowpilot_shared.retry import backoff_seconds
from flowpilot_shared.settings import CoreSettings
from flowpilot_shared.telemetry import handling, traced_delivery
from flowpilot_shared.unit_of_work import CommitGroup, DriverUnitOfWork

log = structlog.get_logger(__name__)
# How long a stopping consumer lets its in-flight messages finish, inside the platform's grace period
# (30 s): one stuck on a lock or a slow call is then cancelled and its unacked message redelivered.
STOP_GRACE_SECONDS = 20.0


def share_of_pool(settings: CoreSettings, consumers: int) -> int:
    """How many inbox transactions each of a process's `consumers` may hold open at once.

    A handler holds its inbox connection while it claims ledger rows on a second one (committed
    before an external call). Were every pooled connection held by such a handler, each would wait
    for a second one until the pool timed out (and the messages dead-lettered). So the consumers of
    a process together hold at most pool - 1 connections, each its own share: a consumer stuck on a
    slow channel never takes another's.
    """
    return max(1, (settings.db_pool_size + settings.db_max_overflow - 1) // max(1, consumers))


class Consumer:
    """One durable queue, one handler; restored with its consumer after a broker restart."""

    def __init__(
        self,
        *,
        name: str,
        spec: QueueSpec,
        db: Database,
        settings: CoreSettings,
        handler: contract.Handler | None = None,
        deliver: contract.Deliver | None = None,
        max_attempts: int | None = None,
        prefetch: int | None = None,
        batch_limit: int = 1,
        batch_linger_seconds: float = 0.0,
        stopping: asyncio.Event | None = None,
        closes: Sequence[Closable] = (),
        commit_group: CommitGroup | None = None,
        inbox: bool = True,
    ) -> None:
        if (handler is None) == (deliver is None):
            raise ValueError(f"consumer {name}: give it a handler or a deliver step, not both or neither")
        self.name = name
        self.spec = spec
        self._handler = handler
        self._deliver = deliver
        self._db = db
        self._settings = settings
        self._max_attempts = max_attempts or settings.consumer_max_attempts
        self._prefetch = prefetch or settings.consumer_prefetch
        self._closes = tuple(closes)
        self._tasks: set[asyncio.Task[None]] = set()
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._subscription: tuple[aio_pika.abc.AbstractQueue, str] | None = None
        self._held: asyncio.Semaphore | None = None
        self._copies = CopiesInFlight()  # a duplicate waits for the copy being processed
        # Above 1: messages that are ready together share an inbox transaction (`consumer.batch`).
        self._batch_limit = batch_limit
        self._batch_linger = batch_linger_seconds
        self._batcher: InboxBatcher | None = None
        # The process' shared transactions, for a batched handler whose commit others may share.
        self._commit_group = commit_group
        # False: the handler's own rows, unique per event, say whether it was handled (its effects
        # written with ON CONFLICT DO NOTHING, ALREADY_DONE when they existed): an inbox row beside
        # them would guard nothing and cost a statement per message. The transaction stays.
        self._inbox = inbox
        # Set by stop(): a message waiting out a retry backoff gives up its wait and is left
        # unacked, so the closing channel returns it to the queue (another replica, or this one
        # restarted, takes it up) instead of the shutdown waiting out the backoff.
        # A step that waits (a channel's retry backoff) may share it, so its waits end too.
        self._stopping = stopping or asyncio.Event()
        db.consumers += 1

    async def start(self, connection: AbstractRobustConnection) -> None:
        """Declare the queue (idempotent) and consume, holding at most this consumer's share of the pool."""
        slots = self._slots()  # sized now: every consumer of the process has been built
        if self._batch_limit > 1 and self._handler is not None:
            self._batcher = InboxBatcher(
                consumer=self.name,
                db=self._db,
                slots=slots,
                limit=self._batch_limit,
                apply=self._apply,
                linger=self._batch_linger,
                group=self._commit_group,
                inbox=self._inbox,
            )
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=self._prefetch)
        queue = await declare_queue(channel, self.spec, self._settings.delivery_limit)
        self._subscription = (queue, await queue.consume(self._on_message))
        self._channel = channel

    async def stop(self) -> None:
        """Stop taking deliveries, finish in-flight messages, then close the channel and what the
        steps hold open (`closes`).

        Cancelled first: a message delivered while the others finished would otherwise start, lose
        its channel before its ack and be handled again elsewhere. Messages waiting to be retried
        stop waiting and go back to the queue unacked, as do those still running after the grace.
        """
        self._stopping.set()
        if self._subscription is not None:
            queue, tag = self._subscription
            with contextlib.suppress(Exception):  # a channel already gone delivers nothing more
                await queue.cancel(tag)
            self._subscription = None
        if cancelled := await finish_or_cancel(self._tasks, grace_seconds=STOP_GRACE_SECONDS):
            log.warning("in-flight messages cancelled at stop", queue=self.spec.name, count=cancelled)
        await close_quietly(self._channel)
        for resource in self._closes:
            await close_quietly(resource)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # Prefetch bounds how many run at once; each runs as its own task, in its message's trace.
        task = asyncio.create_task(traced_delivery(self.process(message), message, self.name, self.spec.name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def process(self, message: AbstractIncomingMessage) -> None:
        """Handle one delivery to its end: acked, or dead-lettered with the reason."""
        try:
            event = parse_event(message.body)
        except (ValidationError, ValueError) as exc:
            await self._dead_letter(message, f"invalid event: {str(exc)[:500]}", attempts=0)
            return
        if event.type not in self.spec.bindings:
            await self._dead_letter(message, f"unexpected event type {event.type}", attempts=0)
            return
        EVENT_LAG.labels(self.name).observe(max(time.time() - event.occurred_at.timestamp(), 0.0))
        async with self._copies.alone(event.id):
            await self._process_event(event, message)

    async def _process_event(self, event: AnyEvent, message: AbstractIncomingMessage) -> None:
        attempt, outages = 1, 0
        while True:
            try:
                with HANDLE_SECONDS.labels(self.name).time():
                    outcome = await self._run_once(event, message, attempt)
                PROCESSED.labels(self.name, outcome).inc()
                await message.ack()
                return
            except PermanentError as exc:
                await self._dead_letter(message, f"permanent: {exc}", attempts=attempt)
                return
            except Exception as exc:
                if database_unavailable(exc):
                    # PostgreSQL restarting or out of connections is no fault of the message: it
                    # waits (unacked) for the database instead of spending its attempts.
                    outages += 1
                    log.warning(
                        "database unavailable; message waits", consumer=self.name, error=str(exc)[:200]
                    )
                    delay = backoff_seconds(
                        outages,
                        self._settings.consumer_retry_base_seconds,
                        self._settings.consumer_retry_max_seconds,
                        None,
                    )
                    if not await self._wait_to_retry(delay):
                        return
                    continue
                retry_after = exc.retry_after if isinstance(exc, TransientError) else None
                log.warning(
                    "handler failed",
                    consumer=self.name,
                    event_id=str(event.id),
                    attempt=attempt,
                    error=f"{type(exc).__name__}: {exc}",
                )
                if attempt == self._max_attempts:
                    await self._dead_letter(
                        message, f"gave up after {attempt} attempts: {type(exc).__name__}: {exc}", attempt
                    )
                    return
                delay = backoff_seconds(
                    attempt,
                    self._settings.consumer_retry_base_seconds,
                    self._settings.consumer_retry_max_seconds,
                    retry_after,
                )
                if not await self._wait_to_retry(delay):
                    return
                attempt += 1

    async def _wait_to_retry(self, seconds: float) -> bool:
        """Wait out a backoff; False (at once) when the consumer is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        if self._stopping.is_set():
            log.info("consumer stopping: message returns to the queue", consumer=self.name)
            return False
        return True

    def _slots(self) -> asyncio.Semaphore:
        if self._held is None:
            share = share_of_pool(self._settings, self._db.consumers)
            self._held = asyncio.Semaphore(min(share, self._prefetch))
        return self._held

    async def _run_once(self, event: AnyEvent, message: AbstractIncomingMessage, attempt: int) -> str:
        facts: dict[str, object] = {"replayed": bool((message.headers or {}).get("x-flowpilot-replayed"))}
        if self._deliver is not None:
            # The deliver step makes its effects and records them (a ledger row per recipient, claimed
            # before and settled after each call): an inbox row per event would be a commit per
            # message telling nothing more, and it would not guard anything.
            delivered = await self._deliver(event, facts)
            return "duplicate" if delivered is contract.ALREADY_DONE else "processed"
        ready = ReadyMessage(event=event, message=message, facts=facts, attempt=attempt)
        if self._batcher is not None and attempt == 1:
            outcome = await self._batcher.handle(ready)
            if outcome is not None:
                return outcome
            # Its batch failed as a whole: on its own, it either succeeds or shows its own fault.
        async with self._slots(), DriverUnitOfWork(self._db) as uow:
            if self._inbox and not await uow.claim_inbox(self.name, event.id):
                return "duplicate"
            outcome = await self._apply(uow, ready)
            await uow.commit()
        return outcome

    async def _apply(self, uow: DriverUnitOfWork, ready: ReadyMessage) -> str:
        """Run the handler in `uow` for a message whose inbox row it has just claimed."""
        context = contract.HandlerContext(
            uow=uow,
            db=self._db,
            consumer=self.name,
            attempt=ready.attempt,
            redelivered=bool(ready.message.redelivered),
            extra=ready.facts,
        )
        assert self._handler is not None
        with handling(ready.message):  # its own trace and request id, in a batch too
            result = await self._handler(ready.event, context)
        return "duplicate" if result is contract.ALREADY_DONE else "processed"

    async def _dead_letter(self, message: AbstractIncomingMessage, reason: str, attempts: int) -> None:
        await dead_letter(
            self._channel,
            message,
            consumer=self.name,
            spec=self.spec,
            reason=reason,
            attempts=attempts,
            publish_timeout=self._settings.publish_timeout_seconds,
        )
