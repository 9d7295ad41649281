"""Notification queries and updates, always scoped to one user of one account."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models import Notification


def _mine(*, account_id: uuid.UUID, user_id: uuid.UUID) -> ColumnElement[bool]:
    return and_(Notification.account_id == account_id, Notification.user_id == user_id)


# The bell's reads run in every open console on each of its bell rows: one driver-level statement
# each (no transaction block, no ORM), and only the columns the bell shows.
_COLUMNS = "id, type, title, body, link, session_id, created_at, read_at"
_UNREAD = "account_id = $1 AND user_id = $2 AND read_at IS NULL"
UNREAD_COUNT_SQL = f"SELECT count(*) FROM notifications WHERE {_UNREAD}"


def _page_sql(*, unread_only: bool) -> str:
    """A page with the unread count beside each row (evaluated once; an empty page means 0 unread)."""
    only_unread = " AND read_at IS NULL" if unread_only else ""
    return (
        f"SELECT {_COLUMNS}, ({UNREAD_COUNT_SQL}) AS unread_count FROM notifications "
        f"WHERE account_id = $1 AND user_id = $2{only_unread} ORDER BY created_at DESC, id DESC LIMIT $3"
    )


PAGE_SQL = {unread_only: _page_sql(unread_only=unread_only) for unread_only in (False, True)}


async def list_notifications(
    conn: asyncpg.Connection, *, account_id: uuid.UUID, user_id: uuid.UUID, unread_only: bool, limit: int
) -> tuple[list[asyncpg.Record], int]:
    """The user's notifications, newest first, and how many of all of theirs are unread."""
    rows = await conn.fetch(PAGE_SQL[unread_only], account_id, user_id, limit)
    return rows, (int(rows[0]["unread_count"]) if rows else 0)


async def unread_count(conn: asyncpg.Connection, *, account_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """How many of the user's notifications are unread."""
    return int(await conn.fetchval(UNREAD_COUNT_SQL, account_id, user_id))


async def mark_read(
    session: AsyncSession, *, account_id: uuid.UUID, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    """Mark one of the user's notifications read (idempotent); None when it is not theirs."""
    row = (
        await session.execute(
            select(Notification).where(
                _mine(account_id=account_id, user_id=user_id), Notification.id == notification_id
            )
        )
    ).scalar_one_or_none()
    if row is not None and row.read_at is None:
        row.read_at = datetime.now(UTC)
    return row


async def mark_all_read(session: AsyncSession, *, account_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    result = await session.execute(
        update(Notification)
        .where(_mine(account_id=account_id, user_id=user_id), Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
