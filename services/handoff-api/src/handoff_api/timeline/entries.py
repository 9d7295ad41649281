"""The timeline rows handoff-api writes itself, with the change they record (claims, releases, rounds)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from flowpilot_shared.durations import humanize_wait
from flowpilot_shared.events import HandoffReescalated
from flowpilot_shared.models import TimelineEntry

# Every row of `entries` in one statement; a key already there (a redelivered event) updates its row
# when the news is at least as recent.
UPSERT_ENTRIES = """
INSERT INTO timeline_entries (id, entry_key, account_id, session_id, handoff_id, at, kind, actor_id, summary, data)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[], $6::timestamptz[],
                     $7::text[], $8::uuid[], $9::text[], $10::text[]::jsonb[])
ON CONFLICT (entry_key) DO UPDATE
SET at = excluded.at, summary = excluded.summary, data = excluded.data
WHERE timeline_entries.at <= excluded.at
"""


@dataclass(frozen=True)
class Entry:
    """A timeline row to write."""

    key: str
    account_id: uuid.UUID
    session_id: uuid.UUID
    handoff_id: uuid.UUID | None
    at: datetime
    kind: str
    actor_id: uuid.UUID | None
    summary: str
    data: dict[str, Any]

    def row(self) -> TimelineEntry:
        """As an ORM row (for a unit of work's session)."""
        return TimelineEntry(
            id=uuid.uuid4(),
            entry_key=self.key,
            account_id=self.account_id,
            session_id=self.session_id,
            handoff_id=self.handoff_id,
            at=self.at,
            kind=self.kind,
            actor_id=self.actor_id,
            summary=self.summary,
            data=self.data,
        )


async def upsert_entries(conn: asyncpg.Connection, entries: Sequence[Entry]) -> None:
    """Write `entries` on a driver-level connection (inside the caller's transaction)."""
    latest: dict[str, Entry] = {}
    for entry in entries:  # one statement may not touch a row twice: the latest of a key wins
        if entry.key not in latest or latest[entry.key].at <= entry.at:
            latest[entry.key] = entry
    entries = list(latest.values())
    if not entries:
        return
    await conn.execute(
        UPSERT_ENTRIES,
        [uuid.uuid4() for _ in entries],
        [e.key for e in entries],
        [e.account_id for e in entries],
        [e.session_id for e in entries],
        [e.handoff_id for e in entries],
        [e.at for e in entries],
        [e.kind for e in entries],
        [e.actor_id for e in entries],
        [e.summary for e in entries],
        [json.dumps(e.data, default=str) for e in entries],
    )


def claim_entry(
    *,
    account_id: uuid.UUID,
    session_id: uuid.UUID,
    handoff_id: uuid.UUID,
    at: datetime,
    claimer_id: uuid.UUID,
    claimer_name: str,
    waited_seconds: float,
) -> Entry:
    """A senior picked the escalation up after waiting `waited_seconds` in the queue."""
    return Entry(
        key=f"claim:{uuid.uuid4()}",
        account_id=account_id,
        session_id=session_id,
        handoff_id=handoff_id,
        at=at,
        kind="claim",
        actor_id=claimer_id,
        summary=f"Picked up by {claimer_name}",
        data={"handoff_id": str(handoff_id), "waited_seconds": int(waited_seconds)},
    )


def release_entry(
    *,
    account_id: uuid.UUID,
    session_id: uuid.UUID,
    handoff_id: uuid.UUID,
    at: datetime,
    releaser_id: uuid.UUID,
    releaser_name: str,
    claimer: dict[str, str],
) -> Entry:
    """The claimer (or an owner/admin) handed it back to the queue."""
    return Entry(
        key=f"release:{uuid.uuid4()}",
        account_id=account_id,
        session_id=session_id,
        handoff_id=handoff_id,
        at=at,
        kind="release",
        actor_id=releaser_id,
        summary=f"Released by {releaser_name}: back in the queue",
        data={"handoff_id": str(handoff_id), "claimer": claimer},
    )


def round_entry(event: HandoffReescalated) -> Entry:
    """A re-escalation round (or the final notice) as the timer loop fired it."""
    d = event.data
    waited = humanize_wait(d.waited_seconds)
    people = f"{len(d.recipients)} {'person' if len(d.recipients) == 1 else 'people'}"
    if d.final:
        rounds = f"{d.max_rounds} round{'' if d.max_rounds == 1 else 's'}"
        summary = f"Still unclaimed after {waited} and {rounds}: owners and admins told ({people})"
    else:
        summary = f"Still unclaimed after {waited}: round {d.round} of {d.max_rounds} sent to {people}"
    assert event.session_id is not None
    return Entry(
        key=f"round:{event.id}",
        account_id=event.account_id,
        session_id=event.session_id,
        handoff_id=d.handoff_id,
        at=event.occurred_at,
        kind="round",
        actor_id=None,
        summary=summary,
        data={
            "handoff_id": str(d.handoff_id),
            "event_id": str(event.id),
            "round": d.round,
            "final": d.final,
            "waited_seconds": d.waited_seconds,
            "recipients": [{"id": str(r.id), "name": r.name} for r in d.recipients],
        },
    )
