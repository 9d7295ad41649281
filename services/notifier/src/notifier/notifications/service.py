"""Notification queries and updates, always scoped to one user of one account."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models import Notification


def _mine(*, account_id: uuid.UUID, user_id: uuid.UUID) -> ColumnElement[bool]:
    return and_(Notification.account_id == account_id, Notification.user_id == user_id)


async def list_notifications(
    session: AsyncSession, *, account_id: uuid.UUID, user_id: uuid.UUID, unread_only: bool, limit: int
) -> list[Notification]:
    """The user's notifications, newest first."""
    query = select(Notification).where(_mine(account_id=account_id, user_id=user_id))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def unread_count(session: AsyncSession, *, account_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """How many of the user's notifications are unread."""
    query = (
        select(func.count())
        .select_from(Notification)
        .where(_mine(account_id=account_id, user_id=user_id), Notification.read_at.is_(None))
    )
    return int((await session.execute(query)).scalar_one())


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
