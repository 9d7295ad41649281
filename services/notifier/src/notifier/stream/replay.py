"""Replay from the retained event log (the outbox table) for a client resuming with Last-Event-ID.

An SSE id is the event's log position "<txid>.<seq>". Positions do not follow commit order (a
transaction with a smaller txid can commit later), so "position > cursor" alone could skip a late
commit. What the client may have missed is what reached its stream queue after its cursor event,
whichever service's relay published it. The cursor went out after it was committed, and every row
records on the database's clock when its relay pass was over (`published_at`, after it went out). A
row that went out after the cursor's was therefore marked after the cursor was committed: the replay
is every visible row marked since the cursor's `created_at`, plus the rows not yet marked.

Not the time the cursor's own pass read it (`publish_started_at`): a relay killed after publishing a
row but before marking it leaves it to the next relay, which publishes and marks it again, later
than rows other relays published in between, which the client may not have had. Relay passes overlap
(a late one's confirms can come after a later one's), so marking order is not publishing order;
this bound holds regardless. It overlaps what the client saw (what went out between the cursor's
commit and its publishing), which clients de-duplicate by `data.event_id`; it never skips one.
Overlap with live delivery after the replay is removed by event id in the stream.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.events import NotificationCreated, event_type
from flowpilot_shared.models.messaging import OutboxEvent
from notifier.stream.events import STREAM_ROUTING_KEYS, StreamEvent, to_stream_events

_POSITION = re.compile(r"^(\d{1,19})\.(\d{1,19})$")
# Both parts are PostgreSQL bigints: a larger number cannot name a row (and cannot be sent as one).
_BIGINT_MAX = 2**63 - 1
BELL_PUSH = event_type(NotificationCreated)
SHARED_KEYS = tuple(k for k in STREAM_ROUTING_KEYS if k != BELL_PUSH)


@dataclass
class ReplayPlan:
    """What to send before going live: replayed events, or a reset when the cursor is unusable."""

    events: list[StreamEvent] = field(default_factory=list)
    reset_reason: str | None = None
    head: str | None = None


def parse_position(value: str | None) -> tuple[int, int] | None:
    """(txid, seq) of an SSE id, or None when malformed or out of range."""
    match = _POSITION.match((value or "").strip())
    if match is None:
        return None
    txid, seq = int(match.group(1)), int(match.group(2))
    return (txid, seq) if txid <= _BIGINT_MAX and seq <= _BIGINT_MAX else None


def format_position(txid: int, seq: int) -> str:
    """The SSE id of a log row."""
    return f"{txid}.{seq}"


def _visible(account_id: uuid.UUID, user_id: uuid.UUID) -> ColumnElement[bool]:
    """The account's shared events and the bell pushes holding a row of this user (one row per
    user and push before pushes held them all: those name the user in `user_id`)."""
    holds_a_row = OutboxEvent.payload["data"]["rows"].contains([{"user_id": str(user_id)}])
    return and_(
        OutboxEvent.account_id == account_id,
        or_(
            OutboxEvent.routing_key.in_(SHARED_KEYS),
            and_(OutboxEvent.routing_key == BELL_PUSH, or_(OutboxEvent.user_id == user_id, holds_a_row)),
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


def _publishing_order() -> ColumnElement[datetime | None]:
    """The order passes went out in (rows marked before `publish_started_at` existed: their mark)."""
    return func.coalesce(OutboxEvent.publish_started_at, OutboxEvent.published_at)


def _missed_since(committed_at: datetime) -> ColumnElement[bool]:
    """Rows that may have gone out after the cursor's row: not marked yet, or marked since it was
    committed (its `created_at` is no later). A row set aside as dead never went out."""
    unmarked = and_(OutboxEvent.published_at.is_(None), OutboxEvent.dead_at.is_(None))
    return or_(unmarked, OutboxEvent.published_at >= committed_at)


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
    committed_at = await session.scalar(
        select(OutboxEvent.created_at).where(visible, OutboxEvent.txid == txid, OutboxEvent.seq == seq)
    )
    if committed_at is None:
        # Deleted by retention (or never this client's): we cannot know what it missed.
        return ReplayPlan(reset_reason="last_event_id_expired")
    rows = (
        await session.execute(
            select(OutboxEvent.txid, OutboxEvent.seq, OutboxEvent.payload)
            .where(
                visible,
                _missed_since(committed_at),
                tuple_(OutboxEvent.txid, OutboxEvent.seq) != tuple_(txid, seq),
            )
            .order_by(_publishing_order().asc().nulls_last(), OutboxEvent.txid, OutboxEvent.seq)
            .limit(limit + 1)
        )
    ).all()
    if len(rows) > limit:
        return ReplayPlan(reset_reason="too_many_missed_events")
    events = [
        event
        for row in rows
        for event in to_stream_events(row.payload, position=format_position(row.txid, row.seq))
        if event.user_id in (None, user_id)
    ]
    return ReplayPlan(events=events, head=last_event_id)
