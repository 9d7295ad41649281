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


class Reminders(BaseModel):
    """The reminder rounds fired since the escalation last entered the queue (a release starts them again)."""

    round: int  # the last round fired; the final notice to owners and admins is round max_rounds + 1
    final: bool
    max_rounds: int  # the account's policy now
    at: datetime  # when the last round fired


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
    reminders: Reminders | None = None


class QueueCount(BaseModel):
    """The sidebar badge."""

    count: int
