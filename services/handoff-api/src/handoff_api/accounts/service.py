"""Sign-up: a new account with its first owner."""

from __future__ import annotations

import uuid

from flowpilot_shared.models import Account, User
from flowpilot_shared.security.passwords import PasswordWork
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from handoff_api.accounts.schemas import SignupRequest
from handoff_api.users.service import new_user


async def sign_up(
    *, uow: OrmUnitOfWork, passwords: PasswordWork, body: SignupRequest
) -> tuple[Account, User]:
    """Create the account and its owner in one transaction."""
    account = Account(id=uuid.uuid4(), name=body.account_name)
    owner = await new_user(uow.session, passwords, account_id=account.id, person=body.owner())
    uow.session.add(account)
    await uow.session.flush()
    uow.session.add(owner)
    await uow.session.flush()
    await uow.commit()
    await uow.session.refresh(account)
    await uow.session.refresh(owner)
    return account, owner
