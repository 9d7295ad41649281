"""Probes of the lifecycle stories through the gateway: reminders by email, the database's clock."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from flowpilot_shared.db import asyncpg_dsn
from tests.e2e.conftest import Fakes, System
from tests.e2e.story import ok
from tests.harness.people import API, Person
from tests.harness.waiting import wait_until


def reminders(fakes: Fakes, person: Person, title: str, round_number: int, of: int) -> list[Any]:
    """The round's reminder emails to `person` about the session titled `title`."""
    return [
        m
        for m in fakes.smtp.to(person.email)
        if title in m.subject and f"reminder {round_number} of {of}" in m.subject
    ]


def final_notices(fakes: Fakes, person: Person, title: str) -> list[Any]:
    """The owners' final notices to `person` about `title`."""
    return [
        m
        for m in fakes.smtp.to(person.email)
        if m.subject.startswith(("Nobody picked up", "[High urgency] Nobody")) and title in m.subject
    ]


async def timeline(gw: httpx.AsyncClient, person: Person, session_id: str) -> list[dict[str, Any]]:
    """The session's timeline as `person` reads it."""
    items: list[dict[str, Any]] = await ok(
        await gw.get(f"{API}/ai-sessions/{session_id}/timeline", headers=person.headers)
    )
    return items


async def rounds_of(gw: httpx.AsyncClient, person: Person, session_id: str) -> list[dict[str, Any]]:
    """The timeline's round entries (`data.final` for the owners' notice), oldest first."""
    return [i for i in await timeline(gw, person, session_id) if i["kind"] == "round"]


async def db_query(system: System, sql: str, *args: Any) -> Any:
    """One value from the system's database (its clock, a timer row)."""
    conn = await asyncpg.connect(asyncpg_dsn(system.infra.database_url))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def has_timer(system: System, session_id: str) -> bool:
    """Whether the session still has a re-escalation timer."""
    found = await db_query(
        system, "SELECT count(*) FROM escalation_timers WHERE session_id = $1", uuid.UUID(session_id)
    )
    return bool(found)


async def wait_for_database_clock(system: System, seconds_from_now: float, *, timeout: float = 60.0) -> None:
    """Return once `seconds_from_now` have passed on the database's clock (due times are on it)."""
    target = float(await db_query(system, "SELECT extract(epoch FROM now())")) + seconds_from_now

    async def passed() -> bool:
        return float(await db_query(system, "SELECT extract(epoch FROM now())")) >= target

    await wait_until(
        passed, timeout=timeout, interval=0.25, message=f"{seconds_from_now}s on the database's clock"
    )
