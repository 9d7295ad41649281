"""Bearer-token authentication and role checks, as FastAPI dependencies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from flowpilot_shared.db import Database
from flowpilot_shared.models.accounts import ENGINEER_OR_ADMIN, OWNER_OR_ADMIN
from flowpilot_shared.security.tokens import InvalidToken, TokenClaims, read_token

ENGINEER_OR_ADMIN_REQUIRED = "Engineer or admin access required"
OWNER_OR_ADMIN_REQUIRED = "Owner or admin access required"
INVALID_TOKEN = "Invalid or expired token"

_bearer = HTTPBearer(auto_error=False, description="JWT from POST /api/v1/auth/login")


@dataclass(frozen=True)
class Caller:
    """The authenticated user a request acts as; every query is scoped by `account_id`."""

    id: uuid.UUID
    account_id: uuid.UUID
    email: str
    name: str
    role: str

    @property
    def is_engineer_or_admin(self) -> bool:
        """Owner, admin or engineer."""
        return self.role in ENGINEER_OR_ADMIN

    @property
    def is_owner_or_admin(self) -> bool:
        """Owner or admin."""
        return self.role in OWNER_OR_ADMIN


def _unauthorized(detail: str = "Not authenticated") -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


# Every request re-checks that the user is still active (a deactivated user loses access at once).
ACTIVE_USER_SQL = """
SELECT id, account_id, email, name, role FROM users
WHERE id = $1 AND account_id = $2 AND is_active AND deleted_at IS NULL
"""


async def token_claims(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> TokenClaims:
    """Dependency: what the request's bearer token asserts, verified (no database); 401 otherwise.

    Not yet a caller: whoever takes claims instead of `current_caller` must itself check, in the
    statement it runs anyway, that the user is active (`inactive_caller` is the answer when not).
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized()
    try:
        return read_token(credentials.credentials, secret=request.app.state.settings.jwt_secret)
    except InvalidToken as exc:
        raise _unauthorized(INVALID_TOKEN) from exc


def inactive_caller() -> HTTPException:
    """The 401 for a verified token whose user is deactivated, deleted or gone."""
    return _unauthorized(INVALID_TOKEN)


async def current_caller(request: Request, claims: Annotated[TokenClaims, Depends(token_claims)]) -> Caller:
    """Dependency: the active user the request's token names (app.state must hold `settings` and `db`)."""
    db: Database = request.app.state.db
    # Runs for every request: one driver-level statement, no transaction block.
    async with db.driver() as conn:
        user = await conn.fetchrow(ACTIVE_USER_SQL, claims.user_id, claims.account_id)
    if user is None:
        raise inactive_caller()
    return Caller(
        id=user["id"],
        account_id=user["account_id"],
        email=user["email"],
        name=user["name"],
        role=user["role"],
    )


async def engineer_or_admin(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """Dependency: owner, admin or engineer; 403 with the contract's text otherwise."""
    if not caller.is_engineer_or_admin:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=ENGINEER_OR_ADMIN_REQUIRED)
    return caller


async def owner_or_admin(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """Dependency: owner or admin; 403 otherwise."""
    if not caller.is_owner_or_admin:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=OWNER_OR_ADMIN_REQUIRED)
    return caller


VerifiedClaims = Annotated[TokenClaims, Depends(token_claims)]
CurrentCaller = Annotated[Caller, Depends(current_caller)]
EngineerOrAdmin = Annotated[Caller, Depends(engineer_or_admin)]
OwnerOrAdmin = Annotated[Caller, Depends(owner_or_admin)]
