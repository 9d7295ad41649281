"""Fire the due re-escalation timers: one transaction per batch, on the timer loop's connection.

In that transaction, for each due timer this replica locked: check the escalation still waits, decide
round or final notice, name who hears of it (computed now, not at escalation time: a targeted
escalation widens to every senior, someone deactivated since is left out), write the
`handoff.reescalated` outbox row and the timeline row, and advance or end the timer. A timer another
replica holds is skipped; one whose escalation moved on (claimed, resolved, escalated again) ends.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import asyncpg
import structlog
from prometheus_client import Counter

from flowpilot_shared.events import HandoffReescalated, UserRef
from flowpilot_shared.lifecycle_contracts import HandoffReescalatedData
from flowpilot_shared.models import AWAITING_PICKUP, ENGINEER_OR_ADMIN, OWNER_OR_ADMIN
from flowpilot_shared.snapshots import user_ref_from
from flowpilot_shared.unit_of_work import StagedEvents
from handoff_api.reescalation import sql
from handoff_api.timeline.entries import Entry, round_entry, upsert_entries

log = structlog.get_logger(__name__)

# outcome: round, final (notice), ended (the escalation had moved on: nothing sent), failed (logged)
FIRED = Counter("flowpilot_reescalations_total", "Re-escalation timers that fell due", ["outcome"])
_AWAITING = [str(s) for s in AWAITING_PICKUP]
_SENIORS = sorted(str(r) for r in ENGINEER_OR_ADMIN)
_OWNERS = frozenset(str(r) for r in OWNER_OR_ADMIN)


@dataclass
class Batch:
    """What one firing transaction writes."""

    events: StagedEvents = field(default_factory=StagedEvents)
    entries: list[Entry] = field(default_factory=list)
    advanced: list[tuple[uuid.UUID, int]] = field(default_factory=list)
    ended: list[uuid.UUID] = field(default_factory=list)
    fired: list[uuid.UUID] = field(default_factory=list)
    # Each taken timer's outcome (FIRED's label), counted once the transaction committed.
    outcomes: list[str] = field(default_factory=list)


def _escalation(row: asyncpg.Record, people: list[UserRef]) -> HandoffReescalated:
    """The round (or final notice) a due timer fires."""
    final = row["rounds_fired"] >= row["max_rounds"]
    escalator = user_ref_from(row, "e_")
    if final:
        recipients = [p for p in people if p.role in _OWNERS]
    else:
        recipients = [p for p in people if p.id != escalator.id]
    return HandoffReescalated(
        account_id=row["account_id"],
        session_id=row["session_id"],
        data=HandoffReescalatedData(
            handoff_id=row["handoff_id"],
            round=row["rounds_fired"] + 1,
            waited_seconds=max(int(row["waited_seconds"] or 0), 0),
            recipients=recipients,
            final=final,
            max_rounds=row["max_rounds"],
            session_title=row["title"],
            client_name=row["client_name"],
            reason=row["reason"],
            urgency=row["urgency"],
            escalator=escalator,
            escalated_at=row["escalated_at"],
        ),
    )


def _plan(due: list[asyncpg.Record], people: dict[uuid.UUID, list[UserRef]]) -> Batch:
    batch = Batch()
    for row in due:
        if not row["waiting"]:
            batch.ended.append(row["session_id"])
            batch.outcomes.append("ended")
            continue
        try:
            event = _escalation(row, people.get(row["account_id"], []))
        except ValueError as exc:  # a row no event can describe must not hold up every other timer
            log.error("re-escalation timer dropped", session_id=str(row["session_id"]), error=str(exc)[:300])
            batch.ended.append(row["session_id"])
            batch.outcomes.append("failed")
            continue
        batch.events.add(event)
        batch.entries.append(round_entry(event))
        batch.fired.append(row["handoff_id"])
        if event.data.final:
            batch.ended.append(row["session_id"])
        else:
            batch.advanced.append((row["session_id"], row["interval_seconds"]))
        batch.outcomes.append("final" if event.data.final else "round")
    return batch


async def fire_due(conn: asyncpg.Connection, *, limit: int) -> tuple[int, bool]:
    """Fire up to `limit` due timers in one transaction; (timers taken, whether a consumer awaits events)."""
    async with conn.transaction():
        due = await conn.fetch(sql.TAKE_DUE, limit, _AWAITING)
        if not due:
            return 0, False
        accounts = list({row["account_id"] for row in due if row["waiting"]})
        people: dict[uuid.UUID, list[UserRef]] = defaultdict(list)
        for p in await conn.fetch(sql.PEOPLE, accounts, _SENIORS) if accounts else []:
            people[p["account_id"]].append(user_ref_from(p))
        batch = _plan(due, people)
        await conn.execute(
            sql.SETTLE,
            [session_id for session_id, _ in batch.advanced],
            [seconds for _, seconds in batch.advanced],
            batch.ended,
            batch.fired,
        )
        await upsert_entries(conn, batch.entries)
        awaited = bool(batch.events.wake)
        await batch.events.write(conn)
    for outcome in batch.outcomes:
        FIRED.labels(outcome).inc()
    if batch.fired:
        log.info("re-escalation timers fired", fired=len(batch.fired), taken=len(due))
    return len(due), awaited
