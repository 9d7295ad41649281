"""A session's timeline, oldest first: its steps, handoffs and timeline rows (handoff-api's own tables),
and what the other services recorded about it (`reported`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models import Handoff, HandoffIntent, SessionStep, TimelineEntry, User
from flowpilot_shared.web.auth import Caller
from handoff_api.sessions.service import get_session
from handoff_api.timeline.entries import OWN_KINDS
from handoff_api.timeline.reported import reported_rows
from handoff_api.timeline.schemas import Actor, TimelineItem

# A session's story is bounded in practice (steps, a few handoffs, their rounds and deliveries).
TIMELINE_LIMIT = 5000
SUMMARY_CHARS = 300
# Same instant: the order things happen in (an escalation's rounds before its claim, say).
KIND_ORDER = {"step": 0, "park": 1, "escalation": 1, "round": 2, "claim": 3, "release": 4}


def _clip(text: str) -> str:
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _step(step: SessionStep) -> tuple[Any, ...]:
    summary = _clip(f"{step.kind.replace('_', ' ').capitalize()}: {step.content}")
    data = {"step_id": str(step.id), "kind": step.kind, "content": step.content}
    return step.created_at, "step", step.author_id, summary, data


def _handoff(handoff: Handoff, names: dict[uuid.UUID, str]) -> tuple[Any, ...]:
    escalate = handoff.intent == HandoffIntent.escalate
    target = names.get(handoff.target_user_id) if handoff.target_user_id else None
    verb = ("Escalated" + (f" to {target}" if target else "")) if escalate else "Parked"
    high = " (high urgency)" if escalate and handoff.urgency == "high" else ""
    data = {
        "handoff_id": str(handoff.id),
        "reason": handoff.reason,
        "urgency": handoff.urgency,
        "target_user_id": str(handoff.target_user_id) if handoff.target_user_id else None,
    }
    kind = "escalation" if escalate else "park"
    return handoff.created_at, kind, handoff.from_user_id, _clip(f"{verb}{high}: {handoff.reason}"), data


async def timeline(*, session: AsyncSession, caller: Caller, session_id: uuid.UUID) -> list[TimelineItem]:
    """Everything that happened to a session of the caller's account, oldest first (404 otherwise)."""
    row = await get_session(session, caller=caller, session_id=session_id)
    steps = (
        await session.execute(
            select(SessionStep).where(SessionStep.session_id == row.id).limit(TIMELINE_LIMIT)
        )
    ).scalars()
    handoffs = list(
        (
            await session.execute(
                select(Handoff).where(Handoff.session_id == row.id, Handoff.account_id == caller.account_id)
            )
        ).scalars()
    )
    entries = (
        await session.execute(
            select(TimelineEntry)
            .where(
                TimelineEntry.session_id == row.id,
                TimelineEntry.account_id == caller.account_id,
                TimelineEntry.kind.in_(OWN_KINDS),
            )
            .order_by(TimelineEntry.at)
            .limit(TIMELINE_LIMIT)
        )
    ).scalars()
    rows: list[tuple[Any, ...]] = [_step(s) for s in steps]
    rows += [(e.at, e.kind, e.actor_id, e.summary, e.data) for e in entries]
    rows += await reported_rows(
        session, account_id=caller.account_id, session_id=row.id, limit=TIMELINE_LIMIT
    )
    people_ids = {r[2] for r in rows if r[2]} | {h.from_user_id for h in handoffs}
    people_ids |= {h.target_user_id for h in handoffs if h.target_user_id}
    people = await session.execute(
        select(User.id, User.name).where(User.id.in_(people_ids), User.account_id == caller.account_id)
    )
    names: dict[uuid.UUID, str] = {p.id: p.name for p in people}
    rows += [_handoff(h, names) for h in handoffs]
    rows.sort(key=lambda r: (r[0], KIND_ORDER.get(r[1], 5)))
    return [
        TimelineItem(
            at=at,
            kind=kind,
            actor=Actor(id=actor, name=names[actor]) if actor in names else None,
            summary=summary,
            data=data,
        )
        for at, kind, actor, summary, data in rows[:TIMELINE_LIMIT]
    ]
