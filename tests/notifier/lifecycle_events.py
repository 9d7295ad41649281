"""Lifecycle events (rounds, final notices, releases) of an escalation, as handoff-api writes them."""

from __future__ import annotations

from datetime import UTC, datetime

from flowpilot_shared.events import HandoffEscalated, HandoffReescalated, HandoffReleased, UserRef
from flowpilot_shared.lifecycle_contracts import HandoffReescalatedData, HandoffReleasedData
from flowpilot_shared.models import User
from tests.harness.factories import Team, following


def round_event(
    escalated: HandoffEscalated,
    *,
    round: int,
    recipients: list[UserRef],
    final: bool = False,
    max_rounds: int = 3,
    waited_seconds: int = 600,
) -> HandoffReescalated:
    """A re-escalation round (or, `final`, the owners' notice) of `escalated`."""
    d = escalated.data
    data = HandoffReescalatedData(
        handoff_id=d.handoff_id,
        round=round,
        waited_seconds=waited_seconds,
        recipients=recipients,
        final=final,
        max_rounds=max_rounds,
        session_title=d.session.title,
        client_name=d.session.client_name,
        reason=d.reason,
        urgency=d.urgency,
        escalator=d.escalator,
        escalated_at=d.escalated_at,
    )
    return following(escalated, HandoffReescalated, data)


def released_event(escalated: HandoffEscalated, *, team: Team, by: User, claimer: User) -> HandoffReleased:
    """`by` handed `claimer`'s claim of `escalated` back to the queue."""
    d = escalated.data
    data = HandoffReleasedData(
        handoff_id=d.handoff_id,
        released_at=datetime.now(UTC),
        released_by=team.ref(by),
        claimer=team.ref(claimer),
        escalator=d.escalator,
        session_title=d.session.title,
        client_name=d.session.client_name,
        reason=d.reason,
        urgency=d.urgency,
        escalated_at=d.escalated_at,
    )
    return following(escalated, HandoffReleased, data)


def with_urgency(escalated: HandoffEscalated, urgency: str) -> HandoffEscalated:
    """The same escalation at another urgency."""
    return escalated.model_copy(update={"data": escalated.data.model_copy(update={"urgency": urgency})})
