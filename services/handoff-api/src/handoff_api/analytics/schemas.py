"""`GET /analytics/escalations`: the response body."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class ClaimerStats(BaseModel):
    """One senior's pickups among the window's escalations."""

    user_id: uuid.UUID
    name: str
    claimed: int
    median_time_to_pickup_seconds: float | None


class EscalationStats(BaseModel):
    """Escalations created in [since, until): how many, how many picked up, how fast.

    Time to pickup: from when the escalation entered the queue (escalated, or released since) to the
    claim that holds it now. `reescalated`: escalations that fired at least one round or final notice.
    """

    since: datetime
    until: datetime
    escalations: int
    claimed: int
    unclaimed: int
    reescalated: int
    median_time_to_pickup_seconds: float | None
    p90_time_to_pickup_seconds: float | None
    by_claimer: list[ClaimerStats]
