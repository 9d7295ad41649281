"""Re-escalation timers for tests: the policy through the API, a timer's row, and bringing it due now.

Bringing a timer due moves its due time on the database's clock and NOTIFYs the timer loops, as a
policy change does: the test sees a round fire without waiting out an interval. Tests of the real
intervals (a 5-second policy) wait on conditions instead.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from flowpilot_shared.db import Database
from tests.harness.people import API, Person

TIMER = """
SELECT handoff_id, rounds_fired, due_at, last_at, extract(epoch FROM due_at - now()) AS due_in
FROM escalation_timers WHERE session_id = $1
"""
BRING_DUE = "UPDATE escalation_timers SET due_at = now() WHERE session_id = $1"
WAKE = "SELECT pg_notify('flowpilot_timers', '')"


async def set_policy(
    client: httpx.AsyncClient, admin: Person, *, reescalate_after_seconds: int, max_rounds: int
) -> dict[str, Any]:
    """PUT the account's escalation policy (asserts 200)."""
    response = await client.put(
        f"{API}/escalation-policy",
        headers=admin.headers,
        json={"reescalate_after_seconds": reescalate_after_seconds, "max_rounds": max_rounds},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def timer_of(db: Database, session_id: uuid.UUID | str) -> dict[str, Any] | None:
    """The session's timer row (None when it has none)."""
    async with db.driver() as conn:
        row = await conn.fetchrow(TIMER, uuid.UUID(str(session_id)))
    return dict(row) if row is not None else None


async def bring_due(db: Database, session_id: uuid.UUID | str) -> None:
    """Make the session's timer due now and wake every timer loop."""
    async with db.driver() as conn:
        status = await conn.execute(BRING_DUE, uuid.UUID(str(session_id)))
        assert status == "UPDATE 1", f"the session has no timer ({status})"
        await conn.execute(WAKE)


async def database_now(db: Database) -> float:
    """The database's clock, as epoch seconds (due times are on it)."""
    async with db.driver() as conn:
        return float(await conn.fetchval("SELECT extract(epoch FROM now())"))
