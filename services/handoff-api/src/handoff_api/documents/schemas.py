"""What docgen and psa-sync produced, as the pickup screen reads it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from flowpilot_shared.web.documents import DocumentationOut
from handoff_api.handoffs.schemas import HandoffOut
from handoff_api.sessions.schemas import SessionOut


class EscalationPackageOut(BaseModel):
    """The AI escalation package (what was tried, hypotheses, next steps)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    session_id: uuid.UUID
    handoff_id: uuid.UUID | None
    version: int
    content: dict[str, Any]
    generated_by: Literal["ai", "template"]
    model: str | None
    created_at: datetime


class HandoffContext(BaseModel):
    """Everything the pickup screen shows."""

    session: SessionOut
    handoff: HandoffOut | None
    escalation_package: EscalationPackageOut | None
    documentation: DocumentationOut | None


class PsaPushOut(BaseModel):
    """One push of documentation onto a PSA ticket."""

    provider: str | None
    ticket_id: str | None
    status: Literal["pushed", "failed", "no_psa", "pending"]
    external_note_id: str | None
    attempts: int
    last_error: str | None
    updated_at: datetime
