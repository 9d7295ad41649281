"""Users of an account: create, list, change role or activity, soft delete."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models import ENGINEER_OR_ADMIN, Role, User
from flowpilot_shared.security.passwords import PasswordWork
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from flowpilot_shared.web.auth import Caller
from handoff_api.errors import Conflict, Forbidden, NotFound
from handoff_api.users.schemas import UserCreate, UserPatch

DUPLICATE_EMAIL = "A user with this email already exists"


async def email_taken(session: AsyncSession, email: str) -> bool:
    """Whether any user (of any account, deleted or not) has this email, case-insensitively."""
    found = await session.execute(select(User.id).where(func.lower(User.email) == email.lower()).limit(1))
    return found.first() is not None


async def new_user(
    session: AsyncSession,
    passwords: PasswordWork,
    *,
    account_id: uuid.UUID,
    person: UserCreate,
) -> User:
    """`person` as an active user of the account, for the caller to add; 409 when anyone has the email."""
    # Hashed before the transaction's first statement: no connection waits on argon2.
    password_hash = await passwords.hash(person.password)
    if await email_taken(session, person.email):
        raise Conflict(DUPLICATE_EMAIL)
    return User(
        id=uuid.uuid4(),
        account_id=account_id,
        email=person.email,
        name=person.name,
        role=person.role,
        password_hash=password_hash,
        is_active=True,
    )


async def get_member(session: AsyncSession, *, caller: Caller, user_id: uuid.UUID) -> User:
    """A non-deleted user of the caller's account; 404 otherwise."""
    user = (
        await session.execute(
            select(User).where(
                User.id == user_id, User.account_id == caller.account_id, User.deleted_at.is_(None)
            )
        )
    ).scalar_one_or_none()
    if user is None:
        raise NotFound("User not found")
    return user


async def active_engineer_or_admin(
    session: AsyncSession, *, account_id: uuid.UUID, user_id: uuid.UUID
) -> User | None:
    """The user when they are an active owner, admin or engineer of the account."""
    return (
        await session.execute(
            select(User).where(
                User.id == user_id,
                User.account_id == account_id,
                User.is_active.is_(True),
                User.deleted_at.is_(None),
                User.role.in_([str(r) for r in ENGINEER_OR_ADMIN]),
            )
        )
    ).scalar_one_or_none()


async def create_user(
    *, uow: OrmUnitOfWork, passwords: PasswordWork, caller: Caller, body: UserCreate
) -> User:
    """Add a teammate; only an owner may create another owner."""
    if body.role == Role.owner and caller.role != Role.owner:
        raise Forbidden("Only an owner may grant the owner role")
    user = await new_user(uow.session, passwords, account_id=caller.account_id, person=body)
    uow.session.add(user)
    await uow.session.flush()
    await uow.commit()
    await uow.session.refresh(user)
    return user


async def list_users(*, session: AsyncSession, caller: Caller) -> list[User]:
    """The caller's teammates (soft-deleted ones left out), by name."""
    rows = await session.execute(
        select(User)
        .where(User.account_id == caller.account_id, User.deleted_at.is_(None))
        .order_by(User.name, User.id)
    )
    return list(rows.scalars())


async def _lock_owners(session: AsyncSession, account_id: uuid.UUID) -> list[User]:
    # Locking every owner row serialises concurrent demotions, so two cannot remove the last two owners.
    rows = await session.execute(
        select(User)
        .where(
            User.account_id == account_id,
            User.role == Role.owner,
            User.is_active.is_(True),
            User.deleted_at.is_(None),
        )
        .order_by(User.id)
        .with_for_update()
    )
    return list(rows.scalars())


async def _guard_last_owner(session: AsyncSession, user: User) -> None:
    owners = await _lock_owners(session, user.account_id)
    if [o.id for o in owners] == [user.id]:
        raise Conflict("An account must keep at least one active owner")


def _guard_owner_change(caller: Caller, user: User, patch_role: Role | None) -> None:
    if caller.role == Role.owner:
        return
    if user.role == Role.owner or patch_role == Role.owner:
        raise Forbidden("Only an owner may change an owner or grant the owner role")


async def update_user(*, uow: OrmUnitOfWork, caller: Caller, user_id: uuid.UUID, body: UserPatch) -> User:
    """Change a teammate's role or activity; the last active owner cannot be demoted or deactivated."""
    user = await get_member(uow.session, caller=caller, user_id=user_id)
    _guard_owner_change(caller, user, body.role)
    demoting = body.role is not None and body.role != Role.owner
    deactivating = body.is_active is False
    if user.role == Role.owner and (demoting or deactivating):
        await _guard_last_owner(uow.session, user)
    if body.role is not None:
        user.role = body.role
    if body.is_active is not None:
        user.is_active = body.is_active
    await uow.commit()
    await uow.session.refresh(user)
    return user


async def delete_user(*, uow: OrmUnitOfWork, caller: Caller, user_id: uuid.UUID) -> None:
    """Soft delete: the row stays for history, the person can no longer sign in."""
    user = await get_member(uow.session, caller=caller, user_id=user_id)
    _guard_owner_change(caller, user, None)
    if user.role == Role.owner:
        await _guard_last_owner(uow.session, user)
    user.is_active = False
    user.deleted_at = datetime.now(UTC)
    await uow.commit()
