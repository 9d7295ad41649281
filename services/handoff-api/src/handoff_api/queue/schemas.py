"""The shared escalation queue: response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from flowpilot_shared.models import SessionStatus, Urgency


class Escalator(BaseModel):
    """Who escalated."""

    id: uuid.UUID
    name: str


class QueueItem(BaseModel):
    """One unclaimed escalation; `handoff_id` is null for a legacy escalation without a handoff row."""

    session_id: uuid.UUID
    handoff_id: uuid.UUID | None
    title: str
    status: SessionStatus
    reason: str
    urgency: Urgency
    escalated_by: Escalator
    target_user_id: uuid.UUID | None
    escalated_at: datetime


class QueueCount(BaseModel):
    """The sidebar badge."""

    count: int
