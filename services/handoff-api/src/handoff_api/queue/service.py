"""The account's unclaimed escalations: sessions awaiting pickup with their open escalation."""

from __future__ import annotations

import asyncpg

from flowpilot_shared.db import Database
from flowpilot_shared.models import AWAITING_PICKUP, SessionStatus, Urgency
from flowpilot_shared.models.lifecycle import DEFAULT_MAX_ROUNDS
from flowpilot_shared.web.auth import Caller
from handoff_api.queue.schemas import Escalator, QueueCount, QueueItem, Reminders
from handoff_api.queue.sql import QUEUE_COUNT_SQL, QUEUE_SQL

QUEUE_LIMIT = 500
_AWAITING = [str(s) for s in AWAITING_PICKUP]


def _reminders(row: asyncpg.Record) -> Reminders | None:
    """The rounds fired since the escalation last entered the queue: its newest round, unless a
    release came after it (handoff-api writes both on the timeline with the change they record)."""
    if row["last_kind"] != "round":
        return None
    data = row["last_data"]
    return Reminders(
        round=data["round"],
        final=data["final"],
        max_rounds=row["max_rounds"] or DEFAULT_MAX_ROUNDS,
        at=row["last_at"],
    )


def _item(row: asyncpg.Record) -> QueueItem:
    """A queued session; a legacy escalation without a handoff row shows the session's own fields."""
    open_escalation = row["handoff_id"] is not None
    return QueueItem(
        session_id=row["session_id"],
        handoff_id=row["handoff_id"],
        title=row["title"],
        status=SessionStatus(row["status"]),
        reason=(row["reason"] if open_escalation else row["escalation_reason"]) or "",
        urgency=Urgency(row["urgency"]) if open_escalation else Urgency.normal,
        escalated_by=Escalator(id=row["escalator_id"], name=row["escalator_name"]),
        target_user_id=row["target_user_id"] if open_escalation else row["escalated_to_id"],
        escalated_at=row["created_at"] if open_escalation else row["updated_at"],
        reminders=_reminders(row) if open_escalation else None,
    )


async def queue(*, db: Database, caller: Caller) -> list[QueueItem]:
    """Unclaimed escalations of the caller's account, oldest first (the queue is shared by seniors)."""
    async with db.driver() as conn:
        rows = await conn.fetch(QUEUE_SQL, caller.account_id, _AWAITING, QUEUE_LIMIT)
    items = [_item(row) for row in rows]
    items.sort(key=lambda i: (i.escalated_at, i.session_id))
    return items


async def count(*, db: Database, caller: Caller) -> QueueCount:
    """How many sessions await pickup (same filter as the queue)."""
    async with db.driver() as conn:
        total = await conn.fetchval(QUEUE_COUNT_SQL, caller.account_id, _AWAITING)
    return QueueCount(count=int(total))
