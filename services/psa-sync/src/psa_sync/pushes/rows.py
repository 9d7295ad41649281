"""A push's row: its column values, and the row as claimed for one attempt."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flowpilot_shared.events import DocumentationGenerated
from psa_sync.pushes.notes import Earlier, note_marker


@dataclass(frozen=True)
class Claim:
    """The push row as claimed for one attempt."""

    push_id: uuid.UUID
    marker: str
    attempt: int
    # A previous attempt may have reached the PSA (crash, timeout): look for its note first.
    ambiguous: bool
    provider: str | None
    ticket: str
    # What other versions of the escalation's documentation left on the ticket.
    earlier: Earlier

    def ids(self, event: DocumentationGenerated) -> dict[str, uuid.UUID | None]:
        """What identifies the push in the event announcing its outcome."""
        return {
            "push_id": self.push_id,
            "documentation_id": event.data.documentation_id,
            "handoff_id": event.data.handoff_id,
        }


def push_row(
    event: DocumentationGenerated, provider: str | None, ticket: str | None, status: str, *, attempts: int
) -> dict[str, object]:
    """Column values of the one push row a documentation gets."""
    data = event.data
    return {
        "id": uuid.uuid4(),
        "account_id": event.account_id,
        "session_id": event.session_id,
        "handoff_id": data.handoff_id,
        "documentation_id": data.documentation_id,
        "event_id": event.id,
        "provider": provider,
        "ticket_id": ticket,
        "status": status,
        "marker": note_marker(data.documentation_id),
        "attempts": attempts,
    }
