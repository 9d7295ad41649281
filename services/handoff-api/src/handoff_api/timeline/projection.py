"""The timeline projection: what other services announced about a session, as handoff-api's own rows.

Deliveries (the notifier's `delivery.recorded`), documentation (docgen) and PSA notes (psa-sync)
reach handoff-api as events on its own queue; no service reads another's tables. Each event becomes
its rows in the consumer's inbox transaction (several ready events share one, see consumer.batch),
keyed so that a redelivery, or a newer outcome of the same delivery, updates a row instead of
adding one.
"""

from __future__ import annotations

from flowpilot_shared.broker.topology import HANDOFF_API_TIMELINE
from flowpilot_shared.consumer import Consumer, HandlerContext
from flowpilot_shared.events import (
    AnyEvent,
    DeliveryRecorded,
    DocumentationGenerated,
    PsaNotePushed,
    PsaPushFailed,
)
from flowpilot_shared.service import ServiceRuntime
from handoff_api.settings import ApiSettings
from handoff_api.timeline.entries import Entry, upsert_entries

CONSUMER_NAME = "handoff-api.timeline"
CHANNEL_NAMES = {"email": "Email", "slack": "Slack", "teams": "Teams"}


def _deliveries(event: DeliveryRecorded) -> list[Entry]:
    d = event.data
    channel = CHANNEL_NAMES.get(d.channel, d.channel)
    entries = []
    for outcome in d.outcomes:
        to = "" if outcome.recipient == "-" else f" to {outcome.recipient}"
        why = f" ({outcome.error})" if outcome.error else ""
        entries.append(
            Entry.announced(
                event,
                key=f"delivery:{d.source_event_id}:{d.channel}:{outcome.recipient}",
                kind="delivery",
                handoff_id=d.handoff_id,
                summary=f"{channel}{to}: {outcome.status}{why}",
                at=outcome.at,
                data={
                    "channel": d.channel,
                    "recipient": outcome.recipient,
                    "status": outcome.status,
                    "error": outcome.error,
                    "attempts": outcome.attempts,
                    "event_id": str(d.source_event_id),
                    "event_type": d.source_event_type,
                },
            )
        )
    return entries


def _documentation(event: DocumentationGenerated) -> Entry:
    d = event.data
    by = f"AI ({d.model})" if d.generated_by == "ai" and d.model else d.generated_by
    return Entry.announced(
        event,
        key=f"documentation:{d.documentation_id}",
        kind="documentation",
        handoff_id=d.handoff_id,
        summary=f"Documentation v{d.version} written by {by}",
        data={
            "documentation_id": str(d.documentation_id),
            "version": d.version,
            "generated_by": d.generated_by,
            "model": d.model,
        },
    )


def _psa_note(event: PsaNotePushed | PsaPushFailed) -> Entry:
    d = event.data
    ticket = f"{d.provider or 'PSA'} ticket {d.ticket_id}" if d.ticket_id else "the PSA ticket"
    data: dict[str, object] = {
        "push_id": str(d.push_id),
        "documentation_id": str(d.documentation_id),
        "provider": d.provider,
        "ticket_id": d.ticket_id,
    }
    if isinstance(event, PsaNotePushed):
        summary = f"Note added to {ticket}"
        data |= {"status": "pushed", "external_note_id": event.data.external_note_id}
    else:
        summary = f"Note not added to {ticket}: {event.data.error}"
        data |= {"status": "failed", "error": event.data.error}
    return Entry.announced(
        event, key=f"psa:{d.push_id}", kind="psa_note", handoff_id=d.handoff_id, summary=summary, data=data
    )


def entries_for(event: AnyEvent) -> list[Entry]:
    """The timeline rows an announced event becomes (none without a session)."""
    if event.session_id is None:
        return []
    if isinstance(event, DeliveryRecorded):
        return _deliveries(event)
    if isinstance(event, DocumentationGenerated):
        return [_documentation(event)]
    if isinstance(event, PsaNotePushed | PsaPushFailed):
        return [_psa_note(event)]
    return []


async def handle(event: AnyEvent, ctx: HandlerContext) -> None:
    """The event's rows, written at the inbox transaction's commit with its batch's others (one
    statement for the batch; the latest row of a key wins, as one statement per event did)."""
    ctx.uow.defer(upsert_entries, entries_for(event))


def timeline_consumer(runtime: ServiceRuntime, settings: ApiSettings) -> Consumer:
    """The projection's consumer on handoff-api's own queue (database work only: batches are safe).

    Its five or so events per escalation arrive spread over a second or more (each channel's outcome,
    the documentation, the PSA note): without waiting, each would take a commit of its own. Nobody
    waits on the timeline, so each message lingers a moment for others to share its commit, with a
    prefetch deep enough that the lingering ones never throttle the queue.
    """
    return Consumer(
        name=CONSUMER_NAME,
        spec=HANDOFF_API_TIMELINE,
        handler=handle,
        db=runtime.db,
        settings=settings,
        prefetch=settings.timeline_prefetch,
        batch_limit=settings.consumer_batch_limit,
        batch_linger_seconds=settings.timeline_linger_seconds,
    )
