"""Handoffs (park, escalate, claim, pickup): request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from flowpilot_shared.models import HandoffIntent, SessionStatus, Urgency
from handoff_api.fields import Reason, Request


class HandoffCreate(Request):
    """`POST /ai-sessions/{id}/handoff`."""

    intent: HandoffIntent
    reason: Reason
    target_user_id: uuid.UUID | None = None
    urgency: Urgency = Urgency.normal


class LegacyEscalateRequest(Request):
    """`POST /ai-sessions/{id}/escalate` (the legacy body)."""

    escalation_reason: Reason
    escalated_to_id: uuid.UUID | None = None


class HandoffOut(BaseModel):
    """A park or an escalation of a session."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    session_id: uuid.UUID
    intent: HandoffIntent
    reason: str
    urgency: Urgency
    from_user_id: uuid.UUID
    target_user_id: uuid.UUID | None
    created_at: datetime
    claimed_at: datetime | None
    claimed_by: uuid.UUID | None


class DocumentationStatus(BaseModel):
    """Whether the session's documentation exists yet."""

    status: Literal["pending", "ready"]


class PsaResultStatus(BaseModel):
    """Where the PSA ticket note stands."""

    status: Literal["pending", "pushed", "failed", "no_psa"]


class LegacyEscalateResponse(BaseModel):
    """What the legacy `/escalate` answers."""

    session_id: uuid.UUID
    status: SessionStatus
    handoff_id: uuid.UUID
    documentation: DocumentationStatus
    psa_result: PsaResultStatus


class Holder(BaseModel):
    """Who holds a claimed escalation."""

    id: uuid.UUID
    name: str


class ClaimConflict(BaseModel):
    """409 body of a lost claim race."""

    detail: str
    claimed_by: Holder | None = None
