"""Event contracts: the envelope and one typed model per event type (DESIGN.md "Events").

Every event that crosses the broker is defined here and nowhere else. Events carry what their
consumers need (session snapshot, escalator, target, recipients) so no consumer calls back the API.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, TypeAdapter, model_validator

from flowpilot_shared.contracts import Contract, UserRef
from flowpilot_shared.lifecycle_contracts import HandoffReescalatedData, HandoffReleasedData

EVENTS_EXCHANGE = "flowpilot.events"
# Stream-only events (a bell row for one user) go to their own exchange, not the domain one.
STREAM_EXCHANGE = "flowpilot.stream"
# An event carries the newest steps of its session within these bounds (older ones are only counted,
# in `steps_omitted`), so event payloads, outbox rows and AI prompts stay bounded however long a
# session grows. The byte bound is above the largest step the API accepts (20,000 characters of up
# to 4 bytes each): the newest step always goes whole.
SNAPSHOT_MAX_STEPS = 100
SNAPSHOT_MAX_STEP_BYTES = 96 * 1024


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
    # Older steps of the session left out of `steps` (see SNAPSHOT_MAX_STEPS).
    steps_omitted: int = 0

    @model_validator(mode="before")
    @classmethod
    def _newest_steps_only(cls, data: Any) -> Any:
        """However a snapshot is built or read, it holds the newest steps within the bounds."""
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            return data
        steps: list[Any] = data["steps"]
        kept = newest_within_bounds(steps)
        if kept == len(steps):
            return data
        omitted = data.get("steps_omitted") or 0
        return {**data, "steps": steps[len(steps) - kept :], "steps_omitted": omitted + len(steps) - kept}


def _content(step: Any) -> str:
    content = step.get("content") if isinstance(step, dict) else getattr(step, "content", None)
    return content if isinstance(content, str) else ""


def newest_within_bounds(steps: list[Any]) -> int:
    """How many of the newest `steps` (oldest first) fit the snapshot bounds (at least the newest one)."""
    contents = [_content(step) for step in steps]
    # The usual session is far within the bounds even at 4 bytes a character: no encoding needed.
    if len(steps) <= SNAPSHOT_MAX_STEPS and 4 * sum(map(len, contents)) <= SNAPSHOT_MAX_STEP_BYTES:
        return len(steps)
    budget, kept = SNAPSHOT_MAX_STEP_BYTES, 0
    for content in reversed(contents):
        size = len(content.encode("utf-8", "surrogatepass"))
        if kept == SNAPSHOT_MAX_STEPS or (kept and size > budget):
            break
        budget -= size
        kept += 1
    return kept


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


class CreatedNotification(Contract):
    """One user's bell row of a `notification.created`."""

    notification_id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime


class NotificationCreatedData(Contract):
    """The bell rows one source event created, one per user, alike but for their ids (a stream-only
    event on STREAM_EXCHANGE: one per source event, not one per recipient, so an escalation to many
    seniors is one outbox row, one publish and one delivery to each stream replica)."""

    type: str
    title: str
    body: str
    link: str | None
    handoff_id: uuid.UUID | None
    rows: list[CreatedNotification]

    @model_validator(mode="before")
    @classmethod
    def _one_row_of_old(cls, data: Any) -> Any:
        """An event written before `rows` (one per user, still in the retained log) as one row."""
        if isinstance(data, dict) and "rows" not in data and "user_id" in data:
            keys = ("notification_id", "user_id", "created_at")
            return {**data, "rows": [{k: data.get(k) for k in keys}]}
        return data


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
)
AnyEvent = DomainEvent | NotificationCreated


def event_type(cls: type[Envelope]) -> str:
    """The `type` (and routing key) of an event class: spelled once, in the class's `type` field."""
    return str(cls.model_fields["type"].default)


def event_types(*classes: type[Envelope]) -> tuple[str, ...]:
    """`event_type` of each class, in order."""
    return tuple(event_type(cls) for cls in classes)


DOMAIN_EVENT_TYPES: tuple[str, ...] = event_types(*get_args(DomainEvent))

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
