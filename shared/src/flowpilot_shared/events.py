"""Event contracts: the envelope and one typed model per event type (DESIGN.md "Events").

Every event that crosses the broker is defined here and nowhere else. Events carry what their
consumers need (session snapshot, escalator, target, recipients) so no consumer calls back the API.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from flowpilot_shared.contracts import Contract, UserRef
from flowpilot_shared.lifecycle_contracts import (
    DeliveryRecordedData,
    HandoffReescalatedData,
    HandoffReleasedData,
)

EVENTS_EXCHANGE = "flowpilot.events"
# Stream-only events (a bell row for one user) go to their own exchange, not the domain one.
STREAM_EXCHANGE = "flowpilot.stream"


class StepSnapshot(Contract):
    """A session step as it was when the event was written."""

    id: uuid.UUID
    kind: str
    content: str
    author_id: uuid.UUID
    created_at: datetime


class SessionSnapshot(Contract):
    """The session, with its steps, as it was when the event was written."""

    id: uuid.UUID
    title: str
    problem: str
    client_name: str | None
    psa_ticket_id: str | None
    status: str
    owner_id: uuid.UUID
    created_at: datetime
    steps: list[StepSnapshot] = Field(default_factory=list)


class HandoffEscalatedData(Contract):
    """A session was escalated; `recipients` get bell and email (DESIGN.md "Who hears of what")."""

    handoff_id: uuid.UUID
    reason: str
    escalated_at: datetime
    session: SessionSnapshot
    escalator: UserRef
    target: UserRef | None = None
    recipients: list[UserRef]
    urgency: Literal["normal", "high"] = "normal"


class HandoffParkedData(Contract):
    """A session was parked privately; nobody is notified."""

    handoff_id: uuid.UUID
    reason: str
    parked_at: datetime
    session: SessionSnapshot
    parked_by: UserRef


class HandoffClaimedData(Contract):
    """A senior claimed (picked up) an escalation."""

    handoff_id: uuid.UUID
    claimed_at: datetime
    session_title: str
    claimer: UserRef
    escalator: UserRef


class SessionResolvedData(Contract):
    """A session was resolved."""

    resolved_at: datetime
    resolved_by: UserRef
    session: SessionSnapshot


class DocumentationGeneratedData(Contract):
    """Documentation of a session is ready (what psa-sync needs to push it as a ticket note)."""

    documentation_id: uuid.UUID
    handoff_id: uuid.UUID | None
    version: int
    generated_by: Literal["ai", "template"]
    model: str | None
    content_markdown: str
    session_title: str
    psa_ticket_id: str | None
    escalator: UserRef | None = None


class PsaNotePushedData(Contract):
    """The documentation landed as a note on the PSA ticket."""

    push_id: uuid.UUID
    documentation_id: uuid.UUID
    handoff_id: uuid.UUID | None
    provider: str
    ticket_id: str
    external_note_id: str | None


class PsaPushFailedData(Contract):
    """The documentation could not be put on the PSA ticket; the escalator is told why."""

    push_id: uuid.UUID
    documentation_id: uuid.UUID
    handoff_id: uuid.UUID | None
    provider: str | None
    ticket_id: str | None
    error: str
    session_title: str
    escalator: UserRef | None = None


class NotificationCreatedData(Contract):
    """A bell row was created for one user (stream-only event on STREAM_EXCHANGE)."""

    notification_id: uuid.UUID
    user_id: uuid.UUID
    type: str
    title: str
    body: str
    link: str | None
    handoff_id: uuid.UUID | None
    created_at: datetime


class Envelope(Contract):
    """Fields every event has; `data` is typed by the subclasses below."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    version: Literal[1] = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    account_id: uuid.UUID
    session_id: uuid.UUID | None = None


class HandoffEscalated(Envelope):
    type: Literal["handoff.escalated"] = "handoff.escalated"
    data: HandoffEscalatedData


class HandoffParked(Envelope):
    type: Literal["handoff.parked"] = "handoff.parked"
    data: HandoffParkedData


class HandoffClaimed(Envelope):
    type: Literal["handoff.claimed"] = "handoff.claimed"
    data: HandoffClaimedData


class SessionResolved(Envelope):
    type: Literal["session.resolved"] = "session.resolved"
    data: SessionResolvedData


class DocumentationGenerated(Envelope):
    type: Literal["documentation.generated"] = "documentation.generated"
    data: DocumentationGeneratedData


class PsaNotePushed(Envelope):
    type: Literal["psa.note_pushed"] = "psa.note_pushed"
    data: PsaNotePushedData


class PsaPushFailed(Envelope):
    type: Literal["psa.push_failed"] = "psa.push_failed"
    data: PsaPushFailedData


class HandoffReescalated(Envelope):
    type: Literal["handoff.reescalated"] = "handoff.reescalated"
    data: HandoffReescalatedData


class HandoffReleased(Envelope):
    type: Literal["handoff.released"] = "handoff.released"
    data: HandoffReleasedData


class DeliveryRecorded(Envelope):
    type: Literal["delivery.recorded"] = "delivery.recorded"
    data: DeliveryRecordedData


class NotificationCreated(Envelope):
    type: Literal["notification.created"] = "notification.created"
    data: NotificationCreatedData


DomainEvent = (
    HandoffEscalated
    | HandoffParked
    | HandoffClaimed
    | SessionResolved
    | DocumentationGenerated
    | PsaNotePushed
    | PsaPushFailed
    | HandoffReescalated
    | HandoffReleased
    | DeliveryRecorded
)
AnyEvent = DomainEvent | NotificationCreated

DOMAIN_EVENT_TYPES: tuple[str, ...] = (
    "handoff.escalated",
    "handoff.parked",
    "handoff.claimed",
    "session.resolved",
    "documentation.generated",
    "psa.note_pushed",
    "psa.push_failed",
    "handoff.reescalated",
    "handoff.released",
    "delivery.recorded",
)

_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(Annotated[AnyEvent, Field(discriminator="type")])


def parse_event(body: bytes | str) -> AnyEvent:
    """Validate a JSON body into its typed event; raises `pydantic.ValidationError`."""
    return _ADAPTER.validate_json(body)


def event_exchange(event: AnyEvent) -> str:
    """The exchange an event is published to."""
    return STREAM_EXCHANGE if isinstance(event, NotificationCreated) else EVENTS_EXCHANGE


def event_to_json(event: AnyEvent) -> dict[str, Any]:
    """The wire body of an event as a JSON-ready dict."""
    return event.model_dump(mode="json")
