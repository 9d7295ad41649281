"""`GET /ai-sessions/{id}/timeline`: the response body."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class Actor(BaseModel):
    """Who did it (null for what the system did: rounds, deliveries, documentation, PSA notes)."""

    id: uuid.UUID
    name: str


class TimelineItem(BaseModel):
    """One thing that happened to the session.

    `kind`: step, escalation, park, claim, release, round (`data.final` for the owners' notice),
    delivery, documentation, psa_note.
    """

    at: datetime
    kind: str
    actor: Actor | None
    summary: str
    data: dict[str, Any]
