"""Migration 0010 on a database with projected timeline rows: the copies go, handoff-api's own rows stay."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from flowpilot_shared.migrations.cli import alembic_config
from tests.harness.infra import Infra, scratch_database

ENTRY = (
    "INSERT INTO timeline_entries (id, entry_key, account_id, session_id, at, kind, summary, data) "
    "VALUES (gen_random_uuid(), $1, $2, $3, now(), $4, $5, '{}')"
)
OUTBOX = (
    "INSERT INTO outbox (id, exchange, routing_key, account_id, payload, published_at) "
    "VALUES (gen_random_uuid(), 'flowpilot.events', $1, $2, '{}', $3)"
)


async def _seed(url: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    account, junior, session = (uuid.uuid4() for _ in range(3))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO accounts (id, name) VALUES ($1, 'Old MSP')", account)
        await conn.execute(
            "INSERT INTO users (id, account_id, email, name, role, password_hash) "
            "VALUES ($1, $2, gen_random_uuid() || '@example.com', 'Jo Junior', 'engineer', 'x')",
            junior,
            account,
        )
        await conn.execute(
            "INSERT INTO ai_sessions (id, account_id, owner_id, title, problem, status) "
            "VALUES ($1, $2, $3, 'Old', 'p', 'escalated')",
            session,
            account,
            junior,
        )
        for kind, summary in (
            ("delivery", "Email to sam@example.com: sent"),
            ("documentation", "Documentation v1 written by template"),
            ("psa_note", "Note added to connectwise ticket 1"),
            ("round", "Still unclaimed after 10 minutes: round 1 of 3 sent to 2 people"),
            ("claim", "Picked up by Sam Senior"),
        ):
            await conn.execute(ENTRY, f"{kind}:{uuid.uuid4()}", account, session, kind, summary)
        await conn.execute(OUTBOX, "delivery.recorded", account, None)
        await conn.execute(OUTBOX, "delivery.recorded", account, datetime.now(UTC))
    finally:
        await conn.close()


async def _seed_and_upgrade(url: str) -> tuple[list[str], list[tuple[str, bool]]]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    await _seed(url)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0010")
    conn = await asyncpg.connect(dsn)
    try:
        kinds = [r["kind"] for r in await conn.fetch("SELECT kind FROM timeline_entries ORDER BY kind")]
        outbox = [
            (r["routing_key"], r["published"])
            for r in await conn.fetch(
                "SELECT routing_key, published_at IS NOT NULL AS published FROM outbox ORDER BY 2"
            )
        ]
    finally:
        await conn.close()
    return kinds, outbox


def test_projected_rows_go_and_own_rows_stay(infra: Infra) -> None:
    with scratch_database(infra, "m0010") as url:
        command.upgrade(alembic_config(url), "0009")
        kinds, outbox = asyncio.run(_seed_and_upgrade(url))
    assert kinds == ["claim", "round"]
    # The unpublished delivery.recorded is gone; a published one stays for the retention sweep.
    assert outbox == [("delivery.recorded", True)]
