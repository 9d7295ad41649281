"""What other services recorded about a session, read where they wrote it when the timeline is asked.

Deliveries (the notifier's ledger), documentation (docgen) and PSA notes (psa-sync) are rows those
services commit with the work itself. Reading them at request time costs a timeline read three
indexed queries; projecting them into handoff-api's own table cost every escalation an event per
channel, a queue delivery per event and a write per delivery, for a page opened now and then.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models import Delivery, Documentation, PsaPush, PsaPushStatus
from flowpilot_shared.models.notifications import NO_RECIPIENT, NOT_CONFIGURED, DeliveryStatus

# The other services' tables the timeline reads (each has the account and the session).
Reported = Delivery | Documentation | PsaPush
# (at, kind, actor, summary, data): the timeline's row shape (`service.timeline`).
Row = tuple[datetime, str, uuid.UUID | None, str, dict[str, Any]]
CHANNEL_NAMES = {"email": "Email", "slack": "Slack", "teams": "Teams"}
# Where a delivery stands once nothing more will happen to it (a send in flight shows when it ends).
SETTLED = (DeliveryStatus.sent.value, DeliveryStatus.failed.value, DeliveryStatus.skipped.value)
SETTLED_PUSHES = (PsaPushStatus.pushed.value, PsaPushStatus.failed.value)


def _unconfigured(row: Delivery) -> bool:
    """A chat channel the account has not set up: nothing to tell the session's story."""
    return (
        row.recipient == NO_RECIPIENT
        and row.status == DeliveryStatus.skipped.value
        and row.last_error == NOT_CONFIGURED.get(row.channel)
    )


def _delivery(row: Delivery) -> Row:
    channel = CHANNEL_NAMES.get(row.channel, row.channel)
    to = "" if row.recipient == NO_RECIPIENT else f" to {row.recipient}"
    why = f" ({row.last_error})" if row.last_error and row.status != DeliveryStatus.sent.value else ""
    data = {
        "channel": row.channel,
        "recipient": row.recipient,
        "status": row.status,
        "error": row.last_error if row.status != DeliveryStatus.sent.value else None,
        "attempts": row.attempts,
        "event_id": str(row.event_id),
        "event_type": row.event_type,
    }
    return row.updated_at, "delivery", None, f"{channel}{to}: {row.status}{why}", data


def _documentation(row: Documentation) -> Row:
    by = f"AI ({row.model})" if row.generated_by == "ai" and row.model else row.generated_by
    data = {
        "documentation_id": str(row.id),
        "version": row.version,
        "generated_by": row.generated_by,
        "model": row.model,
    }
    return row.created_at, "documentation", None, f"Documentation v{row.version} written by {by}", data


def _psa_note(row: PsaPush) -> Row:
    ticket = f"{row.provider or 'PSA'} ticket {row.ticket_id}" if row.ticket_id else "the PSA ticket"
    data: dict[str, Any] = {
        "push_id": str(row.id),
        "documentation_id": str(row.documentation_id),
        "provider": row.provider,
        "ticket_id": row.ticket_id,
        "status": row.status,
    }
    if row.status == PsaPushStatus.pushed.value:
        summary = f"Note added to {ticket}"
        data["external_note_id"] = row.external_note_id
    else:
        summary = f"Note not added to {ticket}: {row.last_error}"
        data["error"] = row.last_error
    return row.updated_at, "psa_note", None, summary, data


async def reported_rows(
    session: AsyncSession, *, account_id: uuid.UUID, session_id: uuid.UUID, limit: int
) -> list[Row]:
    """The session's settled deliveries, its documentation versions and its settled PSA notes."""

    async def of_session(model: type[Reported], *more: ColumnElement[bool]) -> list[Any]:
        query = select(model).where(model.account_id == account_id, model.session_id == session_id, *more)
        return list(await session.scalars(query.limit(limit)))

    deliveries = await of_session(Delivery, Delivery.status.in_(SETTLED))
    documentation = await of_session(Documentation)
    pushes = await of_session(PsaPush, PsaPush.status.in_(SETTLED_PUSHES))
    rows = [_delivery(d) for d in deliveries if not _unconfigured(d)]
    rows += [_documentation(d) for d in documentation]
    rows += [_psa_note(p) for p in pushes]
    return rows
