"""Outbox rows the relay could not publish: list them (the dead ones too), and have the relay try
them again now."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from flowpilot_shared.admin.render import render as render_items
from flowpilot_shared.outbox.wake import WAKE_ALL_SQL

COLUMNS = "id, routing_key, session_id, attempts, last_error, retry_at, dead_at, created_at"
# Unpublished rows with a failed attempt (a refused row waits on `retry_at`, a dead one was set aside
# for good: see outbox/pending.py); $1: only the dead ones.
LIST_SQL = f"""
SELECT {COLUMNS} FROM outbox
WHERE published_at IS NULL AND attempts > 0 AND (NOT $1::boolean OR dead_at IS NOT NULL)
ORDER BY seq
"""
# A dead row tried again goes out after its session's later rows that went on without it.
RETRY_SQL = f"""
UPDATE outbox SET retry_at = NULL, dead_at = NULL
WHERE published_at IS NULL AND attempts > 0 AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))
RETURNING {COLUMNS}
"""


@dataclass(frozen=True)
class FailingRow:
    """An outbox row as an operator sees it."""

    id: uuid.UUID
    routing_key: str
    session_id: uuid.UUID | None
    attempts: int
    last_error: str | None
    retry_at: datetime | None
    dead_at: datetime | None
    created_at: datetime

    @property
    def state(self) -> str:
        """`dead` (set aside, never published) or `retrying`."""
        return "dead" if self.dead_at is not None else "retrying"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        view = {
            key: value if isinstance(value, int | None) else str(value)
            for key, value in self.__dict__.items()
        }
        return {**view, "state": self.state}


async def list_failing(conn: asyncpg.Connection, *, dead_only: bool = False) -> list[FailingRow]:
    """Every unpublished row that has failed at least once (or only the dead ones), in publishing order."""
    return [FailingRow(**row) for row in await conn.fetch(LIST_SQL, dead_only)]


async def retry_now(conn: asyncpg.Connection, ids: set[uuid.UUID] | None) -> list[FailingRow]:
    """Clear the wait of failing rows, dead ones included (all, or `ids`), and wake the relay; the rows
    it will try."""
    rows = await conn.fetch(RETRY_SQL, sorted(ids) if ids else None)
    await conn.execute(WAKE_ALL_SQL)
    return [FailingRow(**row) for row in rows]


def render(rows: list[FailingRow], as_json: bool) -> str:
    """Text (or JSON) for the terminal."""
    return render_items(
        rows,
        as_json,
        empty="no failing outbox rows",
        header=f"{'id':<38} {'type':<24} {'state':<9} {'attempts':>8}  last error",
        line=lambda r: (
            f"{r.id!s:<38} {r.routing_key:<24} {r.state:<9} {r.attempts:>8}  {r.last_error or '-'}"
        ),
    )
