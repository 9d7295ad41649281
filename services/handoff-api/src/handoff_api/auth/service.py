"""Login and token issuing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.db import Database
from flowpilot_shared.models import User
from flowpilot_shared.security.passwords import PasswordWork
from flowpilot_shared.security.tokens import issue_token
from flowpilot_shared.settings import CoreSettings
from flowpilot_shared.web.auth import Caller
from handoff_api.errors import ApiError, NotFound


class BadCredentials(ApiError):
    """Unknown email, wrong password or inactive user: one answer for all, so nothing leaks."""

    status_code = 401


def token_for(user: User, settings: CoreSettings) -> str:
    """A bearer token for the user."""
    return issue_token(
        user_id=user.id,
        account_id=user.account_id,
        secret=settings.jwt_secret,
        ttl_seconds=settings.jwt_ttl_seconds,
    )


async def login(*, db: Database, passwords: PasswordWork, email: str, password: str) -> User:
    """The active user with these credentials; verification costs the same when the email is unknown."""
    # One statement, its connection back in the pool before the (slow, bounded) password check.
    async with db.autocommit() as session:
        user = (
            await session.execute(
                select(User).where(
                    func.lower(User.email) == email.lower(),
                    User.is_active.is_(True),
                    User.deleted_at.is_(None),
                )
            )
        ).scalar_one_or_none()
    ok = await passwords.verify(user.password_hash if user else None, password)
    if not ok or user is None:
        raise BadCredentials("Invalid email or password")
    return user


async def me(*, session: AsyncSession, caller: Caller) -> User:
    """The caller's own user row."""
    user = await session.get(User, caller.id)
    if user is None or user.account_id != caller.account_id:
        raise NotFound("User not found")
    return user
