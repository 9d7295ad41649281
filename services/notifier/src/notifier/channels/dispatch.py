"""Turns a channel into a consumer: resolve targets, send to each concurrently via the ledger."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from flowpilot_shared.consumer import ALREADY_DONE, Prepare
from flowpilot_shared.db import Database
from flowpilot_shared.errors import PermanentError, TransientError
from flowpilot_shared.events import AnyEvent
from flowpilot_shared.models.notifications import DeliveryStatus
from flowpilot_shared.retry import backoff_seconds
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from notifier.channels import ledger
from notifier.channels.announce import Announcement
from notifier.channels.base import Channel, Target, describe_event
from notifier.channels.metrics import DELIVERIES, SEND_SECONDS

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LedgerAccess:
    """How ledger steps reach the database: a transaction, one driver-level statement, or the
    channel's outcome writer (outcomes of calls that finish together share a statement)."""

    new_uow: ledger.UowFactory
    connect: ledger.Connect
    outcomes: ledger.OutcomeWriter
    # Tells the active outbox relay of a committed `delivery.recorded` (written outside a unit of work).
    wake_relay: Callable[[], None] = lambda: None

    @classmethod
    def of(cls, db: Database) -> LedgerAccess:
        """Every way, on `db`'s pool."""
        return cls(
            new_uow=lambda: OrmUnitOfWork(db.sessions),
            connect=db.driver,
            outcomes=ledger.OutcomeWriter(db.driver),
            wake_relay=db.outbox_waker.poke,
        )

    async def record_final(
        self, outcome: ledger.Outcome, *, recipient: str, attempts: int, announcement: Announcement | None
    ) -> None:
        """Record a final outcome, with the event's `delivery.recorded` if it was the last one awaited."""
        _, status, error, _ = outcome
        announce = announcement.final(recipient, status, error, attempts) if announcement else None
        await self.outcomes.record(outcome, announce=announce)
        if announce is not None and announcement is not None:
            announcement.carried("outcome")
            self.wake_relay()


async def deliver(
    channel: Channel,
    event: AnyEvent,
    target: Target,
    access: LedgerAccess,
    deadline: float,
    created: Mapping[str, uuid.UUID],
    calls: asyncio.Semaphore | None = None,
    announcement: Announcement | None = None,
) -> DeliveryStatus | None:
    """Send one target through the ledger with bounded retries; the final status, None if not ours.

    `created`: the ledger rows `ledger.insert_rows` just made for the event's targets (by recipient).
    `announcement`: collects the event's final outcomes on this channel (see announce.py).
    """
    name = channel.name.value
    connect = access.connect
    if target.skip_reason is not None:
        if target.recipient in created:
            DELIVERIES.labels(name, DeliveryStatus.skipped.value).inc()
        return DeliveryStatus.skipped
    await channel.yield_if_stopping()
    claim = await ledger.claim(
        access.new_uow,
        event=event,
        channel=name,
        recipient=target.recipient,
        connect=connect,
        created=created,
    )
    if claim is None:
        return None
    settings = channel.settings
    attempts, in_flight = claim.attempts, claim.in_flight
    while True:
        if not in_flight:
            began = await ledger.begin_attempt(connect, claim.delivery_id, after=attempts)
            if began is None:
                return None  # another processing of this event owns the row now
            attempts = began
        in_flight = False
        started = time.monotonic()
        retry_after: float | None = None
        permanent = False
        try:
            # Only the call itself takes a slot: a recipient waiting out its backoff blocks nobody.
            async with (
                calls or contextlib.nullcontext(),
                asyncio.timeout(settings.channel_attempt_timeout_seconds),
            ):
                sent = await channel.send(event, target, delivery_id=claim.delivery_id)
        except TransientError as exc:
            error, retry_after = str(exc), exc.retry_after
        except PermanentError as exc:
            error, permanent = str(exc), True
        except TimeoutError:
            error = f"timed out after {settings.channel_attempt_timeout_seconds:g}s"
        except Exception as exc:  # a bug or an unforeseen client error: record it, do not loop on it
            log.exception("channel send crashed", channel=name, event_ref=describe_event(event))
            error, permanent = f"{type(exc).__name__}: {exc}", True
        else:
            SEND_SECONDS.labels(name, "sent").observe(time.monotonic() - started)
            await access.record_final(
                ledger.outcome(claim.delivery_id, status=DeliveryStatus.sent, external_id=sent.external_id),
                recipient=target.recipient,
                attempts=attempts,
                announcement=announcement,
            )
            DELIVERIES.labels(name, DeliveryStatus.sent.value).inc()
            return DeliveryStatus.sent
        SEND_SECONDS.labels(name, "error").observe(time.monotonic() - started)
        delay = backoff_seconds(
            attempts, settings.channel_retry_base_seconds, settings.channel_retry_max_seconds, retry_after
        )
        if not permanent and attempts >= settings.channel_max_attempts:
            error = f"gave up after {attempts} attempts: {error}"
            permanent = True
        elif not permanent and time.monotonic() + delay > deadline:
            error = f"gave up after {attempts} attempts (retry budget spent): {error}"
            permanent = True
        status = DeliveryStatus.failed if permanent else DeliveryStatus.retrying
        outcome = ledger.outcome(claim.delivery_id, status=status, error=error)
        if permanent:
            await access.record_final(
                outcome, recipient=target.recipient, attempts=attempts, announcement=announcement
            )
        else:
            await access.outcomes.record(outcome)
        DELIVERIES.labels(name, status.value).inc()
        log.warning(
            "channel send failed",
            channel=name,
            event_ref=describe_event(event),
            attempt=attempts,
            status=status.value,
            error=error,
        )
        if permanent:
            return DeliveryStatus.failed
        # The row stays `retrying`: after a shutdown the next delivery of the message carries on.
        await channel.pause(delay)


def channel_sender(channel: Channel, db: Database) -> Prepare:
    """The consumer's prepare step: send `event` to every target of `channel`, each on its own.

    The ledger rows are the consumer's tracking records (it has no handler, so no inbox row): each
    step commits on its own, briefly, so a slow SMTP server or chat API never keeps a pooled
    connection idle in a transaction. A redelivery (this one failed, or a duplicate publish) runs
    it again and the ledger sends nothing twice.
    """

    access = LedgerAccess.of(db)

    async def send_all(event: AnyEvent, facts: Mapping[str, object]) -> object:
        if facts.get("replayed"):
            # An operator replayed a dead letter: definitively failed sends get another go.
            await ledger.reopen_failed(access.connect, event.id, channel.name.value)
        await channel.before_targets(event, db.driver)
        async with db.driver() as conn:
            targets = await channel.targets(event, conn)
        announcement = Announcement(event, channel.name.value, targets)
        # Every target's ledger row in one statement, before any call (with the announcement when
        # every target is skipped).
        all_skipped = announcement.all_skipped()
        created = await ledger.insert_rows(
            access.connect,
            event=event,
            channel=channel.name.value,
            rows=[(t.recipient, t.skip_reason) for t in targets],
            announce=all_skipped,
        )
        if all_skipped is not None and created:
            announcement.carried("rows")
            access.wake_relay()
        deadline = time.monotonic() + channel.settings.channel_deadline_seconds
        calls = asyncio.Semaphore(channel.settings.channel_send_concurrency)
        results = await asyncio.gather(
            *(deliver(channel, event, t, access, deadline, created, calls, announcement) for t in targets),
            return_exceptions=True,
        )
        # Every target has finished (none is left running behind a retry of this message).
        for result in results:
            if isinstance(result, BaseException):
                raise result
        if targets and not announcement.written:
            # A redelivery that found sends settled by an earlier processing: announce the ledger.
            async with db.driver() as conn:
                if await announcement.write_from_ledger(conn):
                    access.wake_relay()
        failed = [t.recipient for t, r in zip(targets, results, strict=True) if r == DeliveryStatus.failed]
        if failed:
            # Recorded on the ledger; dead-lettering the event makes it visible and replayable.
            raise PermanentError(f"{channel.name.value} delivery failed for {len(failed)} recipient(s)")
        if targets and not created and all(r in (None, DeliveryStatus.skipped) for r in results):
            return ALREADY_DONE  # a redelivery: every row existed and none of them was sent now
        return None

    return send_all
