"""Sending one event to one recipient on one channel, through the delivery ledger.

The ledger row is claimed before any call, so a redelivery never sends twice; every attempt is marked
before it is made and its outcome recorded after; transient failures are tried again with backoff
(honouring `retry_after`) until the attempts or the event's retry budget are spent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import structlog

from flowpilot_shared.db import Database
from flowpilot_shared.errors import PermanentError, TransientError
from flowpilot_shared.events import AnyEvent
from flowpilot_shared.models.notifications import DeliveryStatus
from flowpilot_shared.retry import backoff_seconds
from flowpilot_shared.unit_of_work import CommitGroup, OrmUnitOfWork
from notifier.channels import ledger
from notifier.channels.base import Channel, Sent, Target, describe_event
from notifier.channels.metrics import DELIVERIES, SEND_SECONDS
from notifier.channels.outcome_writer import OutcomeWriter

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LedgerAccess:
    """How ledger steps reach the database: a transaction, one driver-level statement, the claims
    (with whatever else of the process arrives together: one transaction, `CommitGroup`) or the
    outcome writer (outcomes of calls that finish together share a statement). One for all of a
    process' channels.
    """

    new_uow: ledger.UowFactory
    connect: ledger.Connect
    claims: CommitGroup
    outcomes: OutcomeWriter

    @classmethod
    def of(cls, db: Database, commits: CommitGroup | None = None) -> LedgerAccess:
        """Every way, on `db`'s pool (claims in `commits`, the process' shared transactions)."""
        return cls(
            new_uow=lambda: OrmUnitOfWork(db.sessions),
            connect=db.driver,
            claims=commits or CommitGroup(db),
            outcomes=OutcomeWriter(db.driver),
        )


@dataclass
class Failure:
    """Why an attempt did not send; `permanent` once retrying cannot help (or may not go on)."""

    error: str
    retry_after: float | None = None
    permanent: bool = False


@dataclass(frozen=True)
class Delivery:
    """One event to one recipient on one channel, and where its outcomes are recorded."""

    channel: Channel
    event: AnyEvent
    target: Target
    access: LedgerAccess

    @property
    def channel_name(self) -> str:
        """The channel's ledger name (`email`, `slack`, `teams`)."""
        return self.channel.name.value

    async def attempt(
        self, delivery_id: uuid.UUID, calls: asyncio.Semaphore | None, *, number: int
    ) -> Sent | Failure:
        """Send attempt `number` under the channel's attempt timeout; what went wrong, classified."""
        try:
            async with _call_slot(self.channel, calls):
                return await self.channel.send(
                    self.event, self.target, delivery_id=delivery_id, attempt=number
                )
        except Exception as exc:
            return classify(self.channel, self.event, exc)

    async def find_cut_off(self, calls: asyncio.Semaphore | None) -> Sent | Failure | None:
        """What the call a crash cut off left (`Channel.find_cut_off_send`); a final failure when the
        channel cannot tell, since sending again might repeat the message."""
        try:
            async with _call_slot(self.channel, calls):
                return await self.channel.find_cut_off_send(self.event, self.target)
        except Exception as exc:
            # Why it cannot tell goes to the log here; the row keeps the reason people act on.
            log.info(
                "cut-off send not checkable", channel=self.channel_name, error=f"{type(exc).__name__}: {exc}"
            )
            return Failure(ledger.CRASHED_IN_FLIGHT, permanent=True)

    async def record_sent(self, delivery_id: uuid.UUID, sent: Sent, attempts: int) -> DeliveryStatus:
        """The call went through: the row says `sent`, with the message's id at the other end."""
        outcome = ledger.outcome(delivery_id, status=DeliveryStatus.sent, external_id=sent.external_id)
        await self.access.outcomes.record(outcome)
        DELIVERIES.labels(self.channel_name, DeliveryStatus.sent.value).inc()
        return DeliveryStatus.sent

    async def record_failure(self, delivery_id: uuid.UUID, failure: Failure, attempts: int) -> DeliveryStatus:
        """The row says `failed` (final) or `retrying` (the next delivery carries on)."""
        status = DeliveryStatus.failed if failure.permanent else DeliveryStatus.retrying
        outcome = ledger.outcome(delivery_id, status=status, error=failure.error)
        await self.access.outcomes.record(outcome)
        DELIVERIES.labels(self.channel_name, status.value).inc()
        log.warning(
            "channel send failed",
            channel=self.channel_name,
            event_ref=describe_event(self.event),
            attempt=attempts,
            status=status.value,
            error=failure.error,
        )
        return status


@contextlib.asynccontextmanager
async def _call_slot(channel: Channel, calls: asyncio.Semaphore | None) -> AsyncIterator[None]:
    # Only the call itself takes a slot: a recipient waiting out its backoff blocks nobody.
    async with (
        calls or contextlib.nullcontext(),
        asyncio.timeout(channel.settings.channel_attempt_timeout_seconds),
    ):
        yield


def classify(channel: Channel, event: AnyEvent, exc: BaseException) -> Failure:
    """What a failed call means for its ledger row: try again, or not."""
    if isinstance(exc, TransientError):
        return Failure(str(exc), retry_after=exc.retry_after)
    if isinstance(exc, PermanentError):
        return Failure(str(exc), permanent=True)
    if isinstance(exc, TimeoutError):
        return Failure(f"timed out after {channel.settings.channel_attempt_timeout_seconds:g}s")
    # A bug or an unforeseen client error: record it, do not loop on it.
    log.error(
        "channel send crashed",
        channel=channel.name.value,
        event_ref=describe_event(event),
        exc_info=exc,
    )
    return Failure(f"{type(exc).__name__}: {exc}", permanent=True)


async def attempt_together(
    channel: Channel,
    event: AnyEvent,
    claimed: Mapping[str, tuple[Target, uuid.UUID]],
    calls: asyncio.Semaphore | None,
) -> dict[str, Sent | Failure]:
    """The first attempt of every freshly claimed target in one call (`Channel.send_together`), each
    recipient's result classified as its own attempt's would be."""
    await channel.yield_if_stopping()
    started = time.monotonic()
    targets = [target for target, _ in claimed.values()]
    results: dict[str, Sent | Failure]
    try:
        async with _call_slot(channel, calls):
            answers = await channel.send_together(
                event, targets, delivery_ids=[delivery_id for _, delivery_id in claimed.values()]
            )
        results = {r: a if isinstance(a, Sent) else classify(channel, event, a) for r, a in answers.items()}
    except Exception as exc:
        results = dict.fromkeys(claimed, classify(channel, event, exc))
    outcome = "sent" if all(isinstance(r, Sent) for r in results.values()) else "error"
    SEND_SECONDS.labels(channel.name.value, outcome).observe(time.monotonic() - started)
    return results


def give_up_when_spent(
    failure: Failure, *, attempts: int, delay: float, deadline: float, max_attempts: int
) -> Failure:
    """The failure made final when no attempt is left, or the next would start past the deadline."""
    if failure.permanent:
        return failure
    if attempts >= max_attempts:
        return Failure(f"gave up after {attempts} attempts: {failure.error}", permanent=True)
    if time.monotonic() + delay > deadline:
        return Failure(
            f"gave up after {attempts} attempts (retry budget spent): {failure.error}", permanent=True
        )
    return failure


async def send_to_recipient(
    delivery: Delivery,
    *,
    deadline: float,
    created: Mapping[str, uuid.UUID],
    calls: asyncio.Semaphore | None = None,
    first: Sent | Failure | None = None,
) -> DeliveryStatus | None:
    """Send through the ledger with bounded retries; the final status, None if another processing of
    the event owns the row. `created`: the ledger rows just inserted for the event's targets;
    `first`: the result of the row's first attempt, already made together with other targets'."""
    channel, target = delivery.channel, delivery.target
    if target.skip_reason is not None:
        if target.recipient in created:
            DELIVERIES.labels(delivery.channel_name, DeliveryStatus.skipped.value).inc()
        return DeliveryStatus.skipped
    claim = await _claim(delivery, created)
    if claim is None:
        return None
    settings = channel.settings
    attempts, in_flight = claim.attempts, claim.in_flight
    if claim.cut_off:
        found = await delivery.find_cut_off(calls)
        if isinstance(found, Sent):
            return await delivery.record_sent(claim.delivery_id, found, attempts)
        if isinstance(found, Failure):
            # As any channel's crash leftover: on record, not dead-lettered (a replay never resends it).
            await delivery.record_failure(claim.delivery_id, found, attempts)
            return None
    while True:
        if not in_flight:
            began = await ledger.begin_attempt(delivery.access.connect, claim.delivery_id, after=attempts)
            if began is None:
                return None  # another processing of this event owns the row now
            attempts = began
        in_flight = False
        if first is not None:
            result, first = first, None  # timed with the call that carried it
        else:
            started = time.monotonic()
            result = await delivery.attempt(claim.delivery_id, calls, number=attempts)
            outcome = "sent" if isinstance(result, Sent) else "error"
            SEND_SECONDS.labels(delivery.channel_name, outcome).observe(time.monotonic() - started)
        if isinstance(result, Sent):
            return await delivery.record_sent(claim.delivery_id, result, attempts)
        delay = backoff_seconds(
            attempts,
            settings.channel_retry_base_seconds,
            settings.channel_retry_max_seconds,
            result.retry_after,
        )
        failure = give_up_when_spent(
            result,
            attempts=attempts,
            delay=delay,
            deadline=deadline,
            max_attempts=settings.channel_max_attempts,
        )
        if await delivery.record_failure(claim.delivery_id, failure, attempts) == DeliveryStatus.failed:
            return DeliveryStatus.failed
        # The row stays `retrying`: after a shutdown the next delivery of the message carries on.
        await channel.pause(delay)


async def _claim(delivery: Delivery, created: Mapping[str, uuid.UUID]) -> ledger.Claim | None:
    """The row's claim (`ledger.claim`); a row whose call may still be running elsewhere is judged
    again once that call must have ended."""
    channel = delivery.channel
    cut_off_after = channel.settings.channel_attempt_timeout_seconds if channel.finds_cut_off_sends else None
    while True:
        await channel.yield_if_stopping()
        claim = await ledger.claim(
            delivery.access.new_uow,
            event=delivery.event,
            channel=delivery.channel_name,
            recipient=delivery.target.recipient,
            connect=delivery.access.connect,
            created=created,
            cut_off_after=cut_off_after,
        )
        if not isinstance(claim, ledger.StillInFlight):
            return claim
        await channel.pause(claim.seconds)
