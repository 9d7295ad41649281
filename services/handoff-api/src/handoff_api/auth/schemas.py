"""Login: request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel

from handoff_api.fields import Email, LoginPassword, Request
from handoff_api.users.schemas import UserOut


class LoginRequest(Request):
    """`POST /auth/login`."""

    email: Email
    password: LoginPassword


class LoginResponse(BaseModel):
    """A bearer token and who it belongs to."""

    access_token: str
    token_type: str = "bearer"
    user: UserOut
