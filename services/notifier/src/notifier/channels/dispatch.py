"""A channel as a consumer: the deliver step that sends an event to every target of the channel (each
through `sending`, concurrently), and the consumer declared with it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping

from flowpilot_shared.consumer import ALREADY_DONE, Consumer, Deliver
from flowpilot_shared.db import Database
from flowpilot_shared.errors import PermanentError
from flowpilot_shared.events import AnyEvent
from flowpilot_shared.models.notifications import DeliveryStatus
from flowpilot_shared.service import ServiceRuntime
from flowpilot_shared.unit_of_work import DriverUnitOfWork
from notifier.channels import ledger
from notifier.channels.base import Channel, Sent, Target
from notifier.channels.sending import Delivery, Failure, LedgerAccess, attempt_together, send_to_recipient
from notifier.settings import NotifierSettings


def channel_consumer(
    channel: Channel, runtime: ServiceRuntime, settings: NotifierSettings, access: LedgerAccess
) -> Consumer:
    """The channel's consumer on its own queue (a dead SMTP server never delays Slack).

    It shares the channel's `stopping`, so a send waiting out its backoff gives its message back at
    once on shutdown, and closes the channel's connections once its in-flight sends are done.
    """
    return Consumer(
        name=f"notifier.{channel.name.value}",
        spec=channel.spec,
        deliver=send_to_all(channel, runtime.db, access),
        db=runtime.db,
        settings=settings,
        prefetch=settings.channel_prefetch,
        stopping=channel.stopping,
        closes=(channel,),
    )


def send_to_all(channel: Channel, db: Database, access: LedgerAccess) -> Deliver:
    """The channel consumer's deliver step: send `event` to every target of `channel`, each on its own
    record (the first attempts in one call where the channel can carry several).

    The ledger rows are the consumer's tracking records (no inbox row): each
    step commits on its own, briefly, so a slow SMTP server or chat API never keeps a pooled
    connection idle in a transaction. A redelivery (this one failed, or a duplicate publish) runs
    it again and the ledger sends nothing twice.
    """

    async def send_all(event: AnyEvent, facts: Mapping[str, object]) -> object:
        if facts.get("replayed"):
            # An operator replayed a dead letter: definitively failed sends get another go.
            await ledger.reopen_failed(access.connect, event.id, channel.name.value)
        await channel.before_targets(event, db.driver)

        async def claim(uow: DriverUnitOfWork) -> tuple[list[Target], dict[str, uuid.UUID]]:
            targets = await channel.targets(event, uow)
            # Every target's ledger row in one statement, before any call.
            created = await ledger.insert_rows(
                ledger.reuse(uow.conn),
                event=event,
                channel=channel.name.value,
                rows=[(t.recipient, t.skip_reason) for t in targets],
            )
            return targets, created

        # Reading the targets and writing their ledger rows is one transaction, shared with what
        # else of the process arrives at the moment (the other channels' claims, the bell): the
        # reads are no commits of their own, and every row is committed before any call.
        targets, created = await access.claims.run(claim)
        deadline = time.monotonic() + channel.settings.channel_deadline_seconds
        calls = asyncio.Semaphore(channel.settings.channel_send_concurrency)
        firsts = await _first_attempts_together(channel, event, targets, created, calls)
        results = await asyncio.gather(
            *(
                send_to_recipient(
                    Delivery(channel, event, t, access),
                    deadline=deadline,
                    created=created,
                    calls=calls,
                    first=firsts.get(t.recipient),
                )
                for t in targets
            ),
            return_exceptions=True,
        )
        # Every target has finished (none is left running behind a retry of this message).
        for result in results:
            if isinstance(result, BaseException):
                raise result
        failed = [t.recipient for t, r in zip(targets, results, strict=True) if r == DeliveryStatus.failed]
        if failed:
            # Recorded on the ledger; dead-lettering the event makes it visible and replayable.
            raise PermanentError(f"{channel.name.value} delivery failed for {len(failed)} recipient(s)")
        if targets and not created and all(r in (None, DeliveryStatus.skipped) for r in results):
            return ALREADY_DONE  # a redelivery: every row existed and none of them was sent now
        return None

    return send_all


async def _first_attempts_together(
    channel: Channel,
    event: AnyEvent,
    targets: list[Target],
    created: Mapping[str, uuid.UUID],
    calls: asyncio.Semaphore,
) -> dict[str, Sent | Failure]:
    """On a channel that can (email), the first attempt of every target whose row was just created
    goes out in one call; each row's outcome and any retries stay its own. Rows found existing (a
    redelivery) are judged one by one as before."""
    if not channel.sends_together:
        return {}
    fresh = {
        t.recipient: (t, created[t.recipient])
        for t in targets
        if t.skip_reason is None and t.recipient in created
    }
    if len(fresh) < 2:
        return {}
    return await attempt_together(channel, event, fresh, calls)
