"""Migration 0007 on a database that already has escalations: waiting ones get a timer, claims a timeline row."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from flowpilot_shared.migrations.cli import alembic_config
from tests.harness.infra import Infra, scratch_database

# (statement, which of the test's ids it takes as $1, $2, ...)
SEED = [
    ("INSERT INTO accounts (id, name) VALUES ($1, 'Old MSP')", (0,)),
    (
        "INSERT INTO users (id, account_id, email, name, role, password_hash) VALUES "
        "($2, $1, gen_random_uuid() || '@example.com', 'Jo Junior', 'engineer', 'x'), "
        "($3, $1, gen_random_uuid() || '@example.com', 'Sam Senior', 'engineer', 'x')",
        (0, 1, 2),
    ),
    (
        "INSERT INTO ai_sessions (id, account_id, owner_id, title, problem, status) "
        "VALUES ($2, $1, $3, 'Waiting', 'p', 'escalated'), ($4, $1, $5, 'Taken', 'p', 'picked_up')",
        (0, 3, 1, 4, 2),
    ),
    (
        "INSERT INTO handoffs (id, account_id, session_id, intent, reason, from_user_id, created_at) "
        "VALUES ($1, $2, $3, 'escalate', 'r', $4, now() - interval '1 hour')",
        (5, 0, 3, 1),
    ),
    (
        "INSERT INTO handoffs (id, account_id, session_id, intent, reason, from_user_id, created_at, "
        "claimed_at, claimed_by) VALUES ($1, $2, $3, 'escalate', 'r', $4, now() - interval '1 hour', "
        "now() - interval '50 minutes', $5)",
        (6, 0, 4, 1, 2),
    ),
]


async def _run(url: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    ids = [uuid.uuid4() for _ in range(7)]
    conn = await asyncpg.connect(dsn)
    try:
        for statement, which in SEED:
            await conn.execute(statement, *(ids[i] for i in which))
    finally:
        await conn.close()
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0007")
    conn = await asyncpg.connect(dsn)
    try:
        timers = await conn.fetch(
            "SELECT session_id, handoff_id, extract(epoch FROM due_at - now()) AS due_in FROM escalation_timers"
        )
        entries = await conn.fetch(
            "SELECT session_id, kind, actor_id, summary, data::text AS data FROM timeline_entries"
        )
    finally:
        await conn.close()
    assert [(t["session_id"], t["handoff_id"]) for t in timers] == [(ids[3], ids[5])]
    assert 590 < timers[0]["due_in"] <= 600
    [claim] = entries
    assert (claim["session_id"], claim["kind"], claim["actor_id"]) == (ids[4], "claim", ids[2])
    assert claim["summary"] == "Picked up by Sam Senior" and '"waited_seconds": 600' in claim["data"]


def test_waiting_escalations_get_a_timer_and_claims_a_timeline_row(infra: Infra) -> None:
    with scratch_database(infra, "m0007") as url:
        command.upgrade(alembic_config(url), "0006")
        asyncio.run(_run(url))
