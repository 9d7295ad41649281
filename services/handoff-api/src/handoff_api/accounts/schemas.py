"""Sign-up: request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from flowpilot_shared.models import Role
from handoff_api.fields import Email, Name, Password, Request
from handoff_api.users.schemas import UserCreate, UserOut


class SignupRequest(Request):
    """`POST /accounts`: a new account and its first owner."""

    account_name: Name
    owner_email: Email
    owner_name: Name
    owner_password: Password

    def owner(self) -> UserCreate:
        """The first owner, as any new user is described (already validated: not checked again)."""
        return UserCreate.model_construct(
            email=self.owner_email, name=self.owner_name, role=Role.owner, password=self.owner_password
        )


class AccountOut(BaseModel):
    """An account (tenant)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    created_at: datetime


class SignupResponse(BaseModel):
    """The new account, its owner and a token for the owner."""

    account: AccountOut
    user: UserOut
    access_token: str
    token_type: str = "bearer"
