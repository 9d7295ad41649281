"""Response bodies of the deliveries API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, computed_field


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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def skip_reason(self) -> str | None:
        """Why a `skipped` record was not sent (`quiet_hours`, `preference`, ...); None otherwise."""
        return self.last_error if self.status == "skipped" else None
