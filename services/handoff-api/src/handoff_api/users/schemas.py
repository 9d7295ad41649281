"""Users: request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from flowpilot_shared.models import Role
from handoff_api.fields import Email, Name, Password, Request


class UserOut(BaseModel):
    """A person of the caller's account (never their password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    account_id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool
    created_at: datetime


class UserCreate(Request):
    """`POST /users`."""

    email: Email
    name: Name
    role: Role
    password: Password


class UserPatch(Request):
    """`PATCH /users/{id}`: only what is given changes."""

    role: Role | None = None
    is_active: bool | None = None
