"""Bell rows from domain events (DESIGN.md "Who hears of what"), each pushed to its user's streams."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from prometheus_client import Counter

from flowpilot_shared.broker.topology import NOTIFIER_BELL
from flowpilot_shared.consumer import ALREADY_DONE, Consumer, HandlerContext
from flowpilot_shared.durations import humanize_wait
from flowpilot_shared.events import (
    AnyEvent,
    CreatedNotification,
    HandoffClaimed,
    HandoffEscalated,
    HandoffReescalated,
    HandoffReleased,
    NotificationCreated,
    NotificationCreatedData,
    PsaPushFailed,
    UserRef,
)
from flowpilot_shared.service import ServiceRuntime
from notifier.preferences.rules import SENIOR_ROLES

log = structlog.get_logger(__name__)

BELL_ROWS = Counter("flowpilot_notifier_bell_notifications_total", "Bell rows created", ["type"])
CONSUMER_NAME = "notifier.bell"
# Every recipient's row in one statement, however many (arrays, not a parameter per value), and only
# for recipients still active in the event's account (and, $11, of the roles in $12): the event lists
# who was eligible at commit time; someone deactivated (or made a viewer) since gets no row.
INSERT_BELL_ROWS = """
INSERT INTO notifications (id, user_id, account_id, event_id, type, title, body, link, session_id, handoff_id)
SELECT r.id, r.user_id, $3, $4, $5, $6, $7, $8, $9, $10
FROM unnest($1::uuid[], $2::uuid[]) AS r(id, user_id)
JOIN users AS u ON u.id = r.user_id
WHERE u.account_id = $3 AND u.is_active AND u.deleted_at IS NULL AND (NOT $11 OR u.role = ANY($12::text[]))
ORDER BY r.user_id
ON CONFLICT (event_id, user_id, type) DO NOTHING
RETURNING id, user_id, created_at
"""


BellEvent = HandoffEscalated | HandoffClaimed | HandoffReescalated | HandoffReleased | PsaPushFailed


@dataclass(frozen=True)
class BellRow:
    """What one recipient's bell row says."""

    type: str
    title: str
    body: str
    link: str | None
    handoff_id: uuid.UUID | None


def pickup_link(session_id: uuid.UUID | None) -> str | None:
    """The front end's pickup screen of a session."""
    return f"/pilot/{session_id}?pickup=true" if session_id else None


def session_link(session_id: uuid.UUID | None) -> str | None:
    """The front end's page of a session."""
    return f"/pilot/{session_id}" if session_id else None


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _bell_row(event: BellEvent, type: str, title: str, body: str, *, to_pickup: bool = False) -> BellRow:
    """A row about the event's handoff, linking to the session, or to its pickup screen when asked."""
    link = pickup_link(event.session_id) if to_pickup else session_link(event.session_id)
    return BellRow(type=type, title=_clip(title, 300), body=body, link=link, handoff_id=event.data.handoff_id)


def rows_for(event: AnyEvent) -> tuple[list[UserRef], BellRow] | None:
    """Who gets a bell row for `event` and what it says; None for events without one."""
    if isinstance(event, HandoffEscalated):
        d = event.data
        by = d.escalator.name
        title = (
            f"{by} escalated {d.session.title} to you" if d.target else f"{by} escalated {d.session.title}"
        )
        client = f" ({d.session.client_name})" if d.session.client_name else ""
        row = _bell_row(
            event, "handoff_escalated", title, f"{d.session.title}{client}: {d.reason}", to_pickup=True
        )
        recipients = [r for r in d.recipients if r.id != d.escalator.id]
        return recipients, row
    if isinstance(event, HandoffClaimed):
        c = event.data
        if c.claimer.id == c.escalator.id:
            return None  # picking up your own escalation tells you nothing
        row = _bell_row(
            event,
            "handoff_claimed",
            f"{c.claimer.name} picked up {c.session_title}",
            f"{c.claimer.name} picked up your escalation of {c.session_title}.",
        )
        return [c.escalator], row
    if isinstance(event, HandoffReescalated | HandoffReleased):
        return _lifecycle_rows(event)
    if isinstance(event, PsaPushFailed):
        p = event.data
        if p.escalator is None:
            return None
        label = f"{p.provider or 'PSA'} ticket {p.ticket_id}" if p.ticket_id else "the PSA ticket"
        row = _bell_row(
            event,
            "psa_push_failed",
            f"Ticket not updated for {p.session_title}",
            f"The documentation of {p.session_title} was not added to {label}: {p.error}",
        )
        return [p.escalator], row
    return None


def _lifecycle_rows(event: HandoffReescalated | HandoffReleased) -> tuple[list[UserRef], BellRow] | None:
    """A round tells every senior again, the final notice the owners and admins, a release the escalator."""
    if isinstance(event, HandoffReleased):
        r = event.data
        if r.released_by.id == r.escalator.id:
            return None
        row = _bell_row(
            event,
            "handoff_released",
            f"{r.released_by.name} released {r.session_title}",
            f"{r.released_by.name} handed your escalation of {r.session_title} back: it is in the queue again.",
        )
        return [r.escalator], row
    d = event.data
    waited = humanize_wait(d.waited_seconds)
    urgent = "High urgency: " if d.urgency == "high" else ""
    if d.final:
        row = _bell_row(
            event,
            "handoff_unclaimed",
            f"{urgent}Nobody picked up {d.session_title}",
            f"{d.escalator.name}'s escalation is still unclaimed after {waited} and {d.max_rounds} "
            f"reminder{'' if d.max_rounds == 1 else 's'}: {d.reason}",
            to_pickup=True,
        )
        return list(d.recipients), row
    row = _bell_row(
        event,
        "handoff_reescalated",
        f"{urgent}Still unclaimed after {waited}: {d.session_title}",
        f"Reminder {d.round} of {d.max_rounds}: {d.escalator.name} escalated {d.session_title}: {d.reason}",
        to_pickup=True,
    )
    return [r for r in d.recipients if r.id != d.escalator.id], row


async def handle(event: AnyEvent, ctx: HandlerContext) -> object:
    """Insert one bell row per eligible recipient (once per event) and stage its stream event;
    ALREADY_DONE when an earlier delivery made the rows."""
    planned = rows_for(event)
    if planned is None:
        return None
    refs, row = planned
    user_ids = sorted({r.id for r in refs})
    if not user_ids:
        return None
    # One plain statement in the consumer's transaction: this runs for every event on the bell queue.
    # A row that already exists (a redelivery) is not returned: no second stream event.
    conn = await ctx.uow.connection()
    inserted = await conn.fetch(
        INSERT_BELL_ROWS,
        [uuid.uuid4() for _ in user_ids],
        user_ids,
        event.account_id,
        event.id,
        row.type,
        row.title,
        row.body,
        row.link,
        event.session_id,
        row.handoff_id,
        # Escalations and their rounds reach engineers or admins only.
        isinstance(event, HandoffEscalated | HandoffReescalated),
        SENIOR_ROLES,
    )
    if not inserted:
        return ALREADY_DONE
    BELL_ROWS.labels(row.type).inc(len(inserted))
    # One stream event for every row of the source event: each stream shows its own user's.
    ctx.uow.add_event(
        NotificationCreated(
            account_id=event.account_id,
            session_id=event.session_id,
            data=NotificationCreatedData(
                type=row.type,
                title=row.title,
                body=row.body,
                link=row.link,
                handoff_id=row.handoff_id,
                rows=[
                    CreatedNotification(
                        notification_id=r["id"], user_id=r["user_id"], created_at=r["created_at"]
                    )
                    for r in sorted(inserted, key=lambda r: r["user_id"])
                ],
            ),
        )
    )
    return None


def bell_consumer(runtime: ServiceRuntime) -> Consumer:
    """The bell consumer on its own quorum queue (no inbox row: see `handle`)."""
    return Consumer(
        name=CONSUMER_NAME,
        spec=NOTIFIER_BELL,
        handler=handle,
        db=runtime.db,
        settings=runtime.settings,
        batch_limit=runtime.settings.consumer_batch_limit,  # database work only: batches are safe
        # The bell's transaction shares its commit with the channels' ledger claims of the moment.
        commit_group=runtime.commits,
        # A bell row is unique per (event, recipient, type): the rows are the tracking records.
        inbox=False,
    )
