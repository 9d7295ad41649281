"""A session's timeline, oldest first: its steps, handoffs and timeline rows (handoff-api's own tables),
and what the other services recorded about it (`reported`), read in one statement (`sql`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flowpilot_shared.db import Database
from flowpilot_shared.web.auth import Caller
from handoff_api.errors import NotFound
from handoff_api.sessions.service import SESSION_NOT_FOUND
from handoff_api.timeline import reported
from handoff_api.timeline.entries import OWN_KINDS
from handoff_api.timeline.schemas import Actor, TimelineItem
from handoff_api.timeline.sql import TIMELINE_SQL

# A session's story is bounded in practice (steps, a few handoffs, their rounds and deliveries).
TIMELINE_LIMIT = 5000
SUMMARY_CHARS = 300
# Same instant: the order things happen in (an escalation's rounds before its claim, say).
KIND_ORDER = {"step": 0, "park": 1, "escalation": 1, "round": 2, "claim": 3, "release": 4}


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _step(f: dict[str, Any]) -> reported.Shown:
    return f"{f['kind'].replace('_', ' ').capitalize()}: {f['content']}", f


def _handoff(f: dict[str, Any]) -> reported.Shown:
    escalate = f.pop("intent") == "escalate"
    target = f.pop("target")
    verb = ("Escalated" + (f" to {target}" if target else "")) if escalate else "Parked"
    high = " (high urgency)" if escalate and f["urgency"] == "high" else ""
    return f"{verb}{high}: {f['reason']}", f


def _own_entry(f: dict[str, Any]) -> reported.Shown:
    """A claim, release or round: handoff-api wrote its summary and data with the change."""
    return f["summary"], f["data"]


SHOWN: dict[str, Callable[[dict[str, Any]], reported.Shown | None]] = {
    "step": _step,
    "escalation": _handoff,
    "park": _handoff,
    "delivery": reported.delivery,
    "documentation": reported.documentation,
    "psa_note": reported.psa_note,
}


async def timeline(*, db: Database, caller: Caller, session_id: uuid.UUID) -> list[TimelineItem]:
    """Everything that happened to a session of the caller's account, oldest first (404 otherwise)."""
    async with db.driver() as conn:
        rows = await conn.fetch(
            TIMELINE_SQL,
            session_id,
            caller.account_id,
            list(OWN_KINDS),
            TIMELINE_LIMIT,
            reported.SETTLED,
            reported.SETTLED_PUSHES,
        )
    if not rows:
        raise NotFound(SESSION_NOT_FOUND)
    story = sorted(
        (r for r in rows if r["kind"] is not None), key=lambda r: (r["at"], KIND_ORDER.get(r["kind"], 5))
    )
    items: list[TimelineItem] = []
    # `f` is a dict already: the pool's connections decode jsonb (SQLAlchemy's asyncpg dialect).
    for row in story:
        shown = SHOWN.get(row["kind"], _own_entry)(row["f"])
        if shown is None:
            continue
        if len(items) == TIMELINE_LIMIT:
            break
        summary, data = shown
        actor = Actor(id=row["actor"], name=row["actor_name"]) if row["actor_name"] is not None else None
        items.append(
            TimelineItem(at=row["at"], kind=row["kind"], actor=actor, summary=_clip(summary), data=data)
        )
    return items
