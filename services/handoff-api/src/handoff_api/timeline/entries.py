"""The timeline rows handoff-api writes itself, with the change they record (claims, releases, rounds)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg

from flowpilot_shared.durations import humanize_wait
from flowpilot_shared.events import AnyEvent, HandoffReescalated
from flowpilot_shared.models import AiSession, TimelineEntry, User

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
    """A timeline row to write (its fields in the order of `UPSERT_ENTRIES`' columns after `id`)."""

    key: str
    account_id: uuid.UUID
    session_id: uuid.UUID
    handoff_id: uuid.UUID | None
    at: datetime
    kind: str
    actor_id: uuid.UUID | None
    summary: str
    data: dict[str, Any]

    @classmethod
    def announced(
        cls,
        event: AnyEvent,
        *,
        key: str,
        kind: str,
        handoff_id: uuid.UUID | None,
        summary: str,
        data: dict[str, Any],
        at: datetime | None = None,
    ) -> Entry:
        """What a service announced with `event` (no person acted), at the event's time unless `at`."""
        assert event.session_id is not None
        return cls(
            key=key,
            account_id=event.account_id,
            session_id=event.session_id,
            handoff_id=handoff_id,
            at=at or event.occurred_at,
            kind=kind,
            actor_id=None,
            summary=summary,
            data=data,
        )

    def row(self) -> TimelineEntry:
        """As an ORM row (for a unit of work's session)."""
        columns = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "key"}
        return TimelineEntry(id=uuid.uuid4(), entry_key=self.key, **columns)


async def upsert_entries(conn: asyncpg.Connection, entries: Sequence[Entry]) -> None:
    """Write `entries` on a driver-level connection (inside the caller's transaction)."""
    latest: dict[str, Entry] = {}
    for entry in entries:  # one statement may not touch a row twice: the latest of a key wins
        if entry.key not in latest or latest[entry.key].at <= entry.at:
            latest[entry.key] = entry
    entries = list(latest.values())
    if not entries:
        return
    *columns, data = ([getattr(e, f.name) for e in entries] for f in fields(Entry))
    await conn.execute(
        UPSERT_ENTRIES,
        [uuid.uuid4() for _ in entries],
        *columns,
        [json.dumps(d, default=str) for d in data],
    )


# The kinds of row handoff-api writes to `timeline_entries`. Rows of other kinds there were the old
# projection's copies of what other services recorded (migration 0010 removes them; a replica of the
# release before still writing them during a rolling update must not show them twice).
OWN_KINDS = ("claim", "release", "round")

# What a person can do to a handoff that the timeline shows, and how it says so.
ACT_SUMMARIES = {
    "claim": "Picked up by {actor}",
    "release": "Released by {actor}: back in the queue",
}


def act_entry(
    kind: str, *, session: AiSession, handoff_id: uuid.UUID, at: datetime, actor: User, **data: Any
) -> TimelineEntry:
    """A person's act on a handoff (see `ACT_SUMMARIES`), written with the change: each act is a new row."""
    return Entry(
        key=f"{kind}:{uuid.uuid4()}",
        account_id=session.account_id,
        session_id=session.id,
        handoff_id=handoff_id,
        at=at,
        kind=kind,
        actor_id=actor.id,
        summary=ACT_SUMMARIES[kind].format(actor=actor.name),
        data={"handoff_id": str(handoff_id), **data},
    ).row()


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
    return Entry.announced(
        event,
        key=f"round:{event.id}",
        kind="round",
        handoff_id=d.handoff_id,
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
