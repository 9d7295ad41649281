"""Request-scoped dependencies: the unit of work, settings, the rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, status

from flowpilot_shared.db import Database
from flowpilot_shared.security.crypto import SecretBox
from flowpilot_shared.security.passwords import PasswordWork
from flowpilot_shared.unit_of_work import DriverUnitOfWork, OrmUnitOfWork
from flowpilot_shared.web.auth import VerifiedClaims
from handoff_api.ratelimit import SlidingWindowLimiter, retry_after_header
from handoff_api.settings import ApiSettings

T = TypeVar("T")


async def get_uow(request: Request) -> AsyncIterator[OrmUnitOfWork]:
    """One unit of work per request; it rolls back whatever was not committed."""
    async with OrmUnitOfWork(request.app.state.db.sessions) as uow:
        yield uow


def handoff_uow(request: Request) -> DriverUnitOfWork:
    """The hot path's unit of work (the handoff): plain asyncpg statements, its write a single one.

    Opened by the view itself rather than as a yield dependency, whose exit stack and cancel scope
    cost more CPU than the unit of work.
    """
    return DriverUnitOfWork(request.app.state.db, single_statement=True)


def app_state(name: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency giving the process's `kind` that `create_app` keeps as `app.state.<name>`."""

    def dependency(request: Request) -> T:
        value: T = getattr(request.app.state, name)
        return value

    dependency.__name__ = f"get_{name}"
    return dependency


def limit_key(request: Request, key: str) -> None:
    """Count one request against `key`; 429 with Retry-After when over the limit."""
    limiter: SlidingWindowLimiter = request.app.state.rate_limiter
    wait = limiter.hit(key)
    if wait is not None:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail="Too many requests, slow down",
            headers={"Retry-After": retry_after_header(wait)},
        )


async def account_rate_limit(request: Request, claims: VerifiedClaims) -> None:
    """Dependency: count the request against the account its (verified) token names."""
    limit_key(request, f"account:{claims.account_id}")


Uow = Annotated[OrmUnitOfWork, Depends(get_uow)]
Settings = Annotated[ApiSettings, Depends(app_state("settings", ApiSettings))]
Box = Annotated[SecretBox, Depends(app_state("secret_box", SecretBox))]
Db = Annotated[Database, Depends(app_state("db", Database))]
Passwords = Annotated[PasswordWork, Depends(app_state("passwords", PasswordWork))]
