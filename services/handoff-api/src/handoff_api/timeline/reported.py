"""What other services recorded about a session, read where they wrote it when the timeline is asked.

Deliveries (the notifier's ledger), documentation (docgen) and PSA notes (psa-sync) are rows those
services commit with the work itself. Reading them at request time costs a timeline read three
branches of its statement (`sql.TIMELINE_SQL`); projecting them into handoff-api's own table cost every
escalation an event per channel, a queue delivery per event and a write per delivery, for a page
opened now and then.

Each function here turns one source's fields (`f`, as the statement selects them) into the entry's
summary and data; None leaves the row off the timeline.
"""

from __future__ import annotations

from typing import Any

from flowpilot_shared.models import PsaPushStatus
from flowpilot_shared.models.notifications import NO_RECIPIENT, NOT_CONFIGURED, DeliveryStatus

# (summary, data) of one timeline entry.
Shown = tuple[str, dict[str, Any]]
CHANNEL_NAMES = {"email": "Email", "slack": "Slack", "teams": "Teams"}
# Where a delivery stands once nothing more will happen to it (a send in flight shows when it ends).
SETTLED = [DeliveryStatus.sent.value, DeliveryStatus.failed.value, DeliveryStatus.skipped.value]
SETTLED_PUSHES = [PsaPushStatus.pushed.value, PsaPushStatus.failed.value]


def _unconfigured(f: dict[str, Any]) -> bool:
    """A chat channel the account has not set up: nothing to tell the session's story."""
    return (
        f["recipient"] == NO_RECIPIENT
        and f["status"] == DeliveryStatus.skipped.value
        and f["last_error"] == NOT_CONFIGURED.get(f["channel"])
    )


def delivery(f: dict[str, Any]) -> Shown | None:
    """An email, Slack or Teams send, settled (the account's unconfigured chat channels left off)."""
    if _unconfigured(f):
        return None
    sent = f["status"] == DeliveryStatus.sent.value
    channel = CHANNEL_NAMES.get(f["channel"], f["channel"])
    to = "" if f["recipient"] == NO_RECIPIENT else f" to {f['recipient']}"
    why = f" ({f['last_error']})" if f["last_error"] and not sent else ""
    data = {
        "channel": f["channel"],
        "recipient": f["recipient"],
        "status": f["status"],
        "error": None if sent else f["last_error"],
        "attempts": f["attempts"],
        "event_id": f["event_id"],
        "event_type": f["event_type"],
    }
    return f"{channel}{to}: {f['status']}{why}", data


def documentation(f: dict[str, Any]) -> Shown:
    """A version of the session's documentation, and who wrote it."""
    by = f"AI ({f['model']})" if f["generated_by"] == "ai" and f["model"] else f["generated_by"]
    return f"Documentation v{f['version']} written by {by}", f


def psa_note(f: dict[str, Any]) -> Shown:
    """The documentation's note on the PSA ticket, added or not (and why)."""
    ticket = f"{f['provider'] or 'PSA'} ticket {f['ticket_id']}" if f["ticket_id"] else "the PSA ticket"
    data: dict[str, Any] = {
        key: f[key] for key in ("documentation_id", "provider", "ticket_id", "status", "push_id")
    }
    if f["status"] == PsaPushStatus.pushed.value:
        data["external_note_id"] = f["external_note_id"]
        return f"Note added to {ticket}", data
    data["error"] = f["last_error"]
    return f"Note not added to {ticket}: {f['last_error']}", data
