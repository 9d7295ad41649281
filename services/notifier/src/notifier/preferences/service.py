"""Reading and replacing a person's own notification preferences (scoped to their account)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, fields

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models.preferences import NotificationPreference
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from notifier.preferences.rules import DEFAULTS, Preferences


def _of(row: NotificationPreference) -> Preferences:
    """The stored row as preferences: each field is the column of its name (`put_preferences` writes them so)."""
    return Preferences(**{field.name: getattr(row, field.name) for field in fields(Preferences)})


async def get_preferences(session: AsyncSession, *, account_id: uuid.UUID, user_id: uuid.UUID) -> Preferences:
    """The person's preferences, or the defaults when they never set any."""
    row = (
        await session.execute(
            select(NotificationPreference).where(
                NotificationPreference.user_id == user_id, NotificationPreference.account_id == account_id
            )
        )
    ).scalar_one_or_none()
    return DEFAULTS if row is None else _of(row)


async def put_preferences(
    *, uow: OrmUnitOfWork, account_id: uuid.UUID, user_id: uuid.UUID, prefs: Preferences
) -> Preferences:
    """Replace the person's preferences as a whole (one upsert); they apply to the next message sent."""
    values = asdict(prefs)
    await uow.session.execute(
        insert(NotificationPreference)
        .values(user_id=user_id, account_id=account_id, **values)
        .on_conflict_do_update(index_elements=["user_id"], set_=values)
    )
    await uow.commit()
    return prefs
