"""Database outages answer 503 with Retry-After (never a 500): the bell and stream APIs read PostgreSQL."""

from __future__ import annotations

import asyncpg
import structlog
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from flowpilot_shared.consumer.runtime import database_unavailable

log = structlog.get_logger(__name__)

DB_RETRY_AFTER_SECONDS = 5
# Raw asyncpg errors that mean "no usable connection" (raised unwrapped while connecting).
ASYNCPG_UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
)


def _unavailable() -> JSONResponse:
    return JSONResponse(
        {"detail": "Database unavailable, try again shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS)},
    )


def _is_connection_error(exc: sa_exc.DBAPIError) -> bool:
    if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    if isinstance(exc.orig, ASYNCPG_UNAVAILABLE) or database_unavailable(exc):
        return True
    text = f"{type(exc.orig).__name__} {exc.orig}".lower()
    return any(w in text for w in ("connect", "too many clients", "shutdown", "closed"))


def install_error_handlers(app: FastAPI) -> None:
    """Map database outages (refused, too many clients, pool exhausted) to 503."""

    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, sa_exc.DBAPIError) and not _is_connection_error(exc):
            raise exc
        log.warning("database unavailable", error=type(exc).__name__)
        return _unavailable()

    for cls in (sa_exc.DBAPIError, sa_exc.TimeoutError, OSError, *ASYNCPG_UNAVAILABLE):
        app.add_exception_handler(cls, unavailable)
