"""Replay from the retained event log (the outbox table) for a client resuming with Last-Event-ID.

An SSE id is the event's log position "<txid>.<seq>". Positions do not follow commit order (a
transaction with a smaller txid can commit later), so "position > cursor" alone could skip a late
commit. What the client saw is what was *published* before its cursor event, so the replay is
every visible row published after the cursor row (`published_at` is set after commit), plus
committed rows not yet marked published, plus the other rows of the cursor's own publish batch:
a relay publishes a batch concurrently, so live delivery order inside a batch is not position
order and the client may have missed any of them. That overlap can repeat events of the cursor's
batch (clients de-duplicate by `data.event_id`); it never skips one. Overlap with live delivery
after the replay is removed by event id in the stream.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models.messaging import OutboxEvent
from notifier.stream.events import STREAM_ROUTING_KEYS, StreamEvent, to_stream_event

_POSITION = re.compile(r"^(\d{1,19})\.(\d{1,19})$")
SHARED_KEYS = tuple(k for k in STREAM_ROUTING_KEYS if k != "notification.created")


@dataclass
class ReplayPlan:
    """What to send before going live: replayed events, or a reset when the cursor is unusable."""

    events: list[StreamEvent] = field(default_factory=list)
    reset_reason: str | None = None
    head: str | None = None


def parse_position(value: str | None) -> tuple[int, int] | None:
    """(txid, seq) of an SSE id, or None when malformed."""
    match = _POSITION.match((value or "").strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def format_position(txid: int, seq: int) -> str:
    """The SSE id of a log row."""
    return f"{txid}.{seq}"


def _visible(account_id: uuid.UUID, user_id: uuid.UUID) -> ColumnElement[bool]:
    return and_(
        OutboxEvent.account_id == account_id,
        or_(
            OutboxEvent.routing_key.in_(SHARED_KEYS),
            and_(OutboxEvent.routing_key == "notification.created", OutboxEvent.user_id == user_id),
        ),
    )


async def head_position(session: AsyncSession, *, account_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """Position of the latest published event the client could see (the `ready` id of a fresh stream)."""
    row = (
        await session.execute(
            select(OutboxEvent.txid, OutboxEvent.seq)
            .where(_visible(account_id, user_id), OutboxEvent.published_at.is_not(None))
            .order_by(OutboxEvent.published_at.desc(), OutboxEvent.txid.desc(), OutboxEvent.seq.desc())
            .limit(1)
        )
    ).first()
    return format_position(row.txid, row.seq) if row else None


async def plan_replay(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    user_id: uuid.UUID,
    last_event_id: str,
    limit: int,
) -> ReplayPlan:
    """Events after `last_event_id`, in delivery order; a reset when the id is malformed or expired."""
    position = parse_position(last_event_id)
    if position is None:
        return ReplayPlan(reset_reason="malformed_last_event_id")
    txid, seq = position
    visible = _visible(account_id, user_id)
    cursor = (
        await session.execute(
            select(OutboxEvent.published_at).where(visible, OutboxEvent.txid == txid, OutboxEvent.seq == seq)
        )
    ).first()
    if cursor is None:
        # Deleted by retention (or never this client's): we cannot know what it missed.
        return ReplayPlan(reset_reason="last_event_id_expired")
    after = tuple_(OutboxEvent.txid, OutboxEvent.seq) > tuple_(txid, seq)
    not_cursor = tuple_(OutboxEvent.txid, OutboxEvent.seq) != tuple_(txid, seq)
    published_at: datetime | None = cursor.published_at
    if published_at is None:
        # The cursor's batch is not marked published yet: its other rows are unpublished too.
        missed: ColumnElement[bool] = or_(after, and_(OutboxEvent.published_at.is_(None), not_cursor))
    else:
        missed = or_(
            OutboxEvent.published_at.is_(None),
            OutboxEvent.published_at > published_at,
            and_(OutboxEvent.published_at == published_at, not_cursor),
        )
    rows = (
        await session.execute(
            select(OutboxEvent.txid, OutboxEvent.seq, OutboxEvent.payload)
            .where(visible, missed)
            .order_by(OutboxEvent.published_at.asc().nulls_last(), OutboxEvent.txid, OutboxEvent.seq)
            .limit(limit + 1)
        )
    ).all()
    if len(rows) > limit:
        return ReplayPlan(reset_reason="too_many_missed_events")
    events = []
    for row in rows:
        event = to_stream_event(row.payload, position=format_position(row.txid, row.seq))
        if event is not None:
            events.append(event)
    return ReplayPlan(events=events, head=last_event_id)
