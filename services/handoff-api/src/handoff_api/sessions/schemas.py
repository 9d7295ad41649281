"""Sessions and steps: request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from flowpilot_shared.models import SessionStatus, StepKind
from handoff_api.fields import LongText, Name, Request, TicketId, Title


class SessionCreate(Request):
    """`POST /ai-sessions`."""

    title: Title
    problem: LongText
    client_name: Name | None = None
    psa_ticket_id: TicketId | None = None


class StepCreate(Request):
    """`POST /ai-sessions/{id}/steps`."""

    kind: StepKind
    content: LongText


class StepOut(BaseModel):
    """One step of a session."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    session_id: uuid.UUID
    author_id: uuid.UUID
    kind: StepKind
    content: str
    created_at: datetime


class SessionOut(BaseModel):
    """A session with its steps in the order they were added."""

    id: uuid.UUID
    account_id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    problem: str
    client_name: str | None
    psa_ticket_id: str | None
    status: SessionStatus
    escalation_reason: str | None
    escalated_to_id: uuid.UUID | None
    picked_up_by: uuid.UUID | None
    steps: list[StepOut]
    created_at: datetime
    updated_at: datetime


class SessionSummary(BaseModel):
    """A session in a list (`GET /ai-sessions`): no steps."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    client_name: str | None
    psa_ticket_id: str | None
    status: SessionStatus
    created_at: datetime
    updated_at: datetime
