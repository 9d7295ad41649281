"""Payloads of the escalation lifecycle's events (DESIGN.md "Escalation lifecycle"): re-escalation
rounds and releases.

The envelopes (event types) are in `events.py` beside every other event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from flowpilot_shared.contracts import Contract, UserRef


class HandoffReescalatedData(Contract):
    """An escalation is still unclaimed after another `reescalate_after_seconds`.

    A round (`final` false) notifies every active senior but the escalator again; after `max_rounds`
    rounds the final notice (`final` true, round `max_rounds + 1`) tells the active owners and admins
    once. `round` counts the firings since the escalation or its last release; `waited_seconds` is
    how long it has been in the queue since then.
    """

    handoff_id: uuid.UUID
    round: int
    waited_seconds: int
    recipients: list[UserRef]
    final: bool = False
    max_rounds: int
    session_title: str
    client_name: str | None = None
    reason: str
    urgency: Literal["normal", "high"] = "normal"
    escalator: UserRef
    escalated_at: datetime


class HandoffReleasedData(Contract):
    """The claimer (or an owner/admin) handed a claimed escalation back to the queue."""

    handoff_id: uuid.UUID
    released_at: datetime
    released_by: UserRef
    claimer: UserRef
    escalator: UserRef
    session_title: str
    client_name: str | None = None
    reason: str
    urgency: Literal["normal", "high"] = "normal"
    escalated_at: datetime
