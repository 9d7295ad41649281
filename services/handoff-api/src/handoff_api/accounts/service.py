"""Sign-up: a new account with its first owner."""

from __future__ import annotations

import uuid

from flowpilot_shared.models import Account, Role, User
from flowpilot_shared.security.passwords import PasswordWork
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from handoff_api.accounts.schemas import SignupRequest
from handoff_api.errors import Conflict
from handoff_api.users.service import DUPLICATE_EMAIL, email_taken


async def sign_up(
    *, uow: OrmUnitOfWork, passwords: PasswordWork, body: SignupRequest
) -> tuple[Account, User]:
    """Create the account and its owner in one transaction."""
    # Hashed before the transaction opens: no connection waits on argon2.
    password_hash = await passwords.hash(body.owner_password)
    if await email_taken(uow.session, body.owner_email):
        raise Conflict(DUPLICATE_EMAIL)
    account = Account(id=uuid.uuid4(), name=body.account_name)
    owner = User(
        id=uuid.uuid4(),
        account_id=account.id,
        email=body.owner_email,
        name=body.owner_name,
        role=Role.owner,
        password_hash=password_hash,
        is_active=True,
    )
    uow.session.add(account)
    await uow.session.flush()
    uow.session.add(owner)
    await uow.session.flush()
    await uow.commit()
    await uow.session.refresh(account)
    await uow.session.refresh(owner)
    return account, owner
