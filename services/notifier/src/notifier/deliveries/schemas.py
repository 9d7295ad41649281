"""Response bodies of the deliveries API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class DeliveryOut(BaseModel):
    """One external message as the ledger records it (DESIGN.md invariant 3)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    session_id: uuid.UUID | None
    handoff_id: uuid.UUID | None
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
