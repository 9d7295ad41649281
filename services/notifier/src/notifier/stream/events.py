"""What a domain event looks like on the SSE stream (event name and JSON data)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sse_starlette import ServerSentEvent

from flowpilot_shared.broker.topology import STREAM_EVENT_TYPES
from flowpilot_shared.events import (
    AnyEvent,
    DocumentationGenerated,
    HandoffClaimed,
    HandoffEscalated,
    HandoffReescalated,
    HandoffReleased,
    NotificationCreated,
    event_type,
    parse_event,
)

# Routing keys the stream shows (the replica queue's bindings plus the stream-only exchange).
STREAM_ROUTING_KEYS: tuple[str, ...] = (*STREAM_EVENT_TYPES, event_type(NotificationCreated))


@dataclass(frozen=True)
class StreamEvent:
    """One SSE event: `id` is the event's log position, `user_id` set for one user's eyes only."""

    id: str | None
    event: str
    data: dict[str, Any]
    account_id: uuid.UUID
    event_id: str
    user_id: uuid.UUID | None = None

    @cached_property
    def frame(self) -> bytes:
        """The SSE frame, encoded once: the same bytes go to every client the event reaches."""
        return ServerSentEvent(data=json.dumps(self.data), event=self.event, id=self.id).encode()


def _person(ref: Any) -> dict[str, Any] | None:
    return None if ref is None else {"id": str(ref.id), "name": ref.name}


def _data(event: AnyEvent) -> tuple[str, dict[str, Any]] | None:
    handoff_id = getattr(event.data, "handoff_id", None)
    base: dict[str, Any] = {
        "event_id": str(event.id),
        "session_id": str(event.session_id) if event.session_id else None,
        "occurred_at": event.occurred_at.isoformat(),
        "handoff_id": str(handoff_id) if handoff_id else None,
    }
    if isinstance(event, HandoffEscalated):
        d = event.data
        return "handoff_created", base | {
            "title": d.session.title,
            "client_name": d.session.client_name,
            "status": "escalated",
            "reason": d.reason,
            "urgency": d.urgency,
            "escalated_by": _person(d.escalator),
            "target_user_id": str(d.target.id) if d.target else None,
            "escalated_at": d.escalated_at.isoformat(),
        }
    if isinstance(event, HandoffClaimed):
        c = event.data
        return "handoff_claimed", base | {
            "title": c.session_title,
            "claimer": _person(c.claimer),
            "claimed_by": str(c.claimer.id),
            "claimed_at": c.claimed_at.isoformat(),
            "escalated_by": _person(c.escalator),
        }
    if isinstance(event, DocumentationGenerated):
        g = event.data
        return "documentation_ready", base | {
            "documentation_id": str(g.documentation_id),
            "title": g.session_title,
            "version": g.version,
            "generated_by": g.generated_by,
            "model": g.model,
        }
    if isinstance(event, HandoffReescalated):
        r = event.data
        return "handoff_reescalated", base | {
            "title": r.session_title,
            "round": r.round,
            "final": r.final,
            "max_rounds": r.max_rounds,
            "waited_seconds": r.waited_seconds,
            "urgency": r.urgency,
            "escalated_by": _person(r.escalator),
            "recipients": len(r.recipients),
        }
    if isinstance(event, HandoffReleased):
        x = event.data
        return "handoff_released", base | {
            "title": x.session_title,
            "client_name": x.client_name,
            "status": "escalated",
            "reason": x.reason,
            "urgency": x.urgency,
            "released_by": _person(x.released_by),
            "claimer": _person(x.claimer),
            "escalated_by": _person(x.escalator),
            "escalated_at": x.escalated_at.isoformat(),
            "released_at": x.released_at.isoformat(),
        }
    return None


def _bell_pushes(event: NotificationCreated, position: str | None) -> list[StreamEvent]:
    """A `notification` event for each user with a bell row, that user's eyes only."""
    n = event.data
    base = {
        "event_id": str(event.id),
        "session_id": str(event.session_id) if event.session_id else None,
        "occurred_at": event.occurred_at.isoformat(),
        "handoff_id": str(n.handoff_id) if n.handoff_id else None,
        "type": n.type,
        "title": n.title,
        "body": n.body,
        "link": n.link,
        "read_at": None,
    }
    return [
        StreamEvent(
            id=position,
            event="notification",
            data=base
            | {
                "id": str(row.notification_id),
                "notification_id": str(row.notification_id),
                "created_at": row.created_at.isoformat(),
            },
            account_id=event.account_id,
            event_id=str(event.id),
            user_id=row.user_id,
        )
        for row in n.rows
    ]


def to_stream_events(body: dict[str, Any] | bytes | str, *, position: str | None) -> list[StreamEvent]:
    """The SSE form of an event body (one per user for bell rows), none for types the stream does not show."""
    event = parse_event(body if isinstance(body, bytes | str) else json.dumps(body))
    if isinstance(event, NotificationCreated):
        return _bell_pushes(event, position)
    shaped = _data(event)
    if shaped is None:
        return []
    name, data = shaped
    return [
        StreamEvent(id=position, event=name, data=data, account_id=event.account_id, event_id=str(event.id))
    ]
