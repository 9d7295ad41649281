"""Database outages answer 503 with Retry-After, never a 500: one mapping for every service's API."""

from __future__ import annotations

import asyncpg
import structlog
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from flowpilot_shared.db import database_unavailable, statement_cancelled

log = structlog.get_logger(__name__)

DB_RETRY_AFTER_SECONDS = 5
# Raw asyncpg errors that mean "no usable connection" (raised unwrapped while connecting).
# The driver-level hot paths (`Database.driver`) raise these unwrapped mid-request too; an
# InternalClientError is a connection left unusable by PostgreSQL's shutdown notice.
ASYNCPG_UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)
_OUTAGE_WORDS = ("connect", "cannotconnectnow", "too many clients", "shutdown", "closed")


def is_connection_error(exc: sa_exc.DBAPIError) -> bool:
    """Whether a driver error means the database is out of reach (not that the query was wrong)."""
    if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    # By type or SQLSTATE: e.g. 57P03 "the database system is shutting down", 53300 too many clients.
    if isinstance(exc.orig, ASYNCPG_UNAVAILABLE) or database_unavailable(exc):
        return True
    text = f"{type(exc.orig).__name__} {exc.orig}".lower()
    return any(word in text for word in _OUTAGE_WORDS)


def unavailable_response() -> JSONResponse:
    """503 with Retry-After: the client should simply try again shortly."""
    return JSONResponse(
        {"detail": "Database unavailable, try again shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS)},
    )


def busy_response() -> JSONResponse:
    """503 with Retry-After for a statement cut off by statement_timeout (the database is overloaded or locked)."""
    return JSONResponse(
        {"detail": "Database busy, try again shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS)},
    )


def install_outage_handlers(app: FastAPI) -> None:
    """Map database outages (refused, too many clients, restarting, pool exhausted) to 503.

    A driver error that is not an outage: a value PostgreSQL refused answers 422, anything else
    propagates (a bug stays a 500, loudly).
    """

    @app.exception_handler(sa_exc.DBAPIError)
    async def dbapi_error(_: Request, exc: sa_exc.DBAPIError) -> JSONResponse:
        if is_connection_error(exc):
            log.warning("database unavailable", error=type(exc.orig).__name__)
            return unavailable_response()
        if statement_cancelled(exc):
            log.warning("database statement cut off", error=type(exc.orig).__name__)
            return busy_response()
        if isinstance(exc, sa_exc.DataError):
            return JSONResponse({"detail": "Invalid value"}, status_code=status.HTTP_422_UNPROCESSABLE_ENTITY)
        raise exc

    async def unreachable(_: Request, exc: Exception) -> JSONResponse:
        # Pool exhausted (TimeoutError), or asyncpg failing to open a connection (its own errors,
        # or a plain OSError such as ConnectionRefusedError).
        log.warning("database unavailable", error=type(exc).__name__)
        return unavailable_response()

    async def cut_off(_: Request, exc: Exception) -> JSONResponse:
        # A driver-level statement (`Database.driver`) cut off by statement_timeout, unwrapped.
        log.warning("database statement cut off", error=type(exc).__name__)
        return busy_response()

    for cls in (sa_exc.TimeoutError, OSError, *ASYNCPG_UNAVAILABLE):
        app.add_exception_handler(cls, unreachable)
    app.add_exception_handler(asyncpg.exceptions.QueryCanceledError, cut_off)
