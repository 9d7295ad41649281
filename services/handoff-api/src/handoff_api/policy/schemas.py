"""`/escalation-policy`: request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from flowpilot_shared.models.lifecycle import MAX_ROUNDS_RANGE, REESCALATE_AFTER_RANGE
from handoff_api.fields import Request

# Strict: a JSON number, not "600" nor true (which lax validation would read as 1).
ReescalateAfter = Annotated[
    int, Field(strict=True, ge=REESCALATE_AFTER_RANGE[0], le=REESCALATE_AFTER_RANGE[1])
]
MaxRounds = Annotated[int, Field(strict=True, ge=MAX_ROUNDS_RANGE[0], le=MAX_ROUNDS_RANGE[1])]


class PolicyIn(Request):
    """`PUT /escalation-policy`: both values, each in its range (422 naming the field otherwise)."""

    reescalate_after_seconds: ReescalateAfter
    max_rounds: MaxRounds


class PolicyOut(BaseModel):
    """The account's policy (the defaults until an owner or admin sets one)."""

    reescalate_after_seconds: int
    max_rounds: int
    updated_at: datetime | None = None
